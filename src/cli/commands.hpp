// The CLI's operations, one row each: the command line takes a row's options, checks and call
// from here, the help lists the rows, and the batch asks a line's row how to call it and
// whether a call may be made again. Adding an operation: one row (and its functions).
#pragma once

#include "ndjson.hpp"

#include <wix/inbox/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/program_options/options_description.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wix::inbox::cli {

struct SendContext;

/// Every single command's option values and arguments, as given, then as checked.
struct CommandArgs {
    std::vector<std::string> positional;
    std::string memberId, contactId, visitorId;
    std::string visibility, order, limit, cursor, text, messageJson, direction, publicKey, input;
    std::string port, forwardTo, listenAddress;
    bool all = false;

    // Set by a command's check.
    std::optional<ParticipantId> participant;
    Visibility listVisibility = Visibility::business;
    ListMessagesOptions listing;
    Message message;
};

/// A batch line's outcome: its output line, and the error if the call failed.
using LineOutcome = std::pair<std::string, std::optional<Error>>;

struct Command {
    std::string_view name;
    std::string_view synopsis; ///< the arguments, for the list of commands
    std::string_view summary;
    std::string_view example;
    /// Arguments besides options (`messages list ID`: 2).
    std::size_t positionals;
    /// Safe to call twice: a batch calls a line again after a transient failure only if so,
    /// or if the operation `reconciles`.
    bool idempotent;
    /// Not idempotent, but its batch lines look for an earlier call's effect before calling
    /// again (send: cli/send_line.hpp): a transient failure or an unknown outcome is retried.
    bool reconciles;
    void (*options)(boost::program_options::options_description& into, CommandArgs& args);
    /// A usage problem (exit status 1, nothing sent), or nothing when `args` are fine.
    std::optional<std::string> (*check)(CommandArgs& args);
    /// Makes the call and prints its outcome: exit status 0, or 2 for a failed call. Null for
    /// the batch, which main runs itself, and for commands that call nothing (`local`).
    int (*run)(boost::asio::io_context& ioc, Client& client, const CommandArgs& args);
    /// A command that needs no client (nor credentials, nor an emulator): its whole run.
    int (*local)(const CommandArgs& args);
    /// How a batch line selected for this operation is called; null for operations that are
    /// not batch operations.
    boost::asio::awaitable<LineOutcome> (*callLine)(std::uint64_t line, Client& client, const BatchRequest& request,
                                                    const CallOptions& options, SendContext& sends);
};

/// Every operation, in the order of the help.
std::span<const Command> commands();
const Command* findCommand(std::string_view name);
/// The operation a batch line selects: send for a line with a message, else get-or-create
/// for a participant, get for a conversation ID.
const Command& commandOf(const BatchRequest& request);

/// The list of commands for the usage text.
std::string commandList();

} // namespace wix::inbox::cli
