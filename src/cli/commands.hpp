// SPDX-License-Identifier: BSL-1.0
// The CLI's operations, one row each: the command line takes a row's arguments (options,
// checks and run) from here, the help lists the rows, the batch asks a line's row how to
// call it and whether a call may be made again, and wix-inbox-bench asks a row how to load
// the service with it. Adding an operation: one row (and its arguments' type).
#pragma once

#include "bench_operation.hpp"
#include "ndjson.hpp"

#include <wix/inbox/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/program_options/options_description.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wix::inbox::cli {

struct SendContext;

/// What the global options (before the command) tell a command.
struct GlobalSettings {
    bool quiet = false;                     ///< --quiet: nothing on standard error but errors
    std::chrono::milliseconds callTimeout;  ///< --timeout-ms
    std::optional<std::size_t> connections; ///< --connections, when given
    bool emulator = false;                  ///< --emulator: an embedded emulator, sent no credentials
};

/// What a command that calls the service runs with.
struct Session {
    boost::asio::io_context& ioc;
    Client& client;
    const Credentials& credentials; ///< as the client sends them (none with --emulator)
    const GlobalSettings& global;
};

/// A command's own options and arguments: each command's type holds its fields, binds them to
/// its options, checks them, then runs. Not thread-safe.
class CommandArgs {
public:
    virtual ~CommandArgs() = default;

    /// Arguments besides options, as many as the row's `positionals`.
    std::vector<std::string> positional;

    /// Adds its options to `into`, bound to its fields (none by default).
    virtual void options(boost::program_options::options_description& into);
    /// A usage problem (exit status 1, nothing sent), or nothing when the arguments are fine.
    virtual std::optional<std::string> check(const GlobalSettings& global);
    /// Its whole run when it needs no client (nor credentials, nor an emulator); nothing
    /// when it calls the service (then run() is called).
    virtual std::optional<int> runLocal();
    /// Calls the service and prints the outcome: exit status 0, or 2 for a failed call.
    virtual int run(const Session& session);

    /// Set up once the io_context exists, before the emulator and the client: the batch
    /// watches stop signals from here on.
    virtual void prepare(boost::asio::io_context& ioc);
    /// An observer of the client's calls besides -v's (the batch's --metrics-port); none by default.
    virtual std::shared_ptr<Observer> observer();
    /// The connection pool's size without --connections.
    virtual std::size_t defaultConnections() const;
    /// Credentials may come without their tenant: an API key without a site or account, an
    /// OAuth app without an instance, for the lines that name their "siteId" or "instanceId".
    virtual bool linesNameTenants() const;
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
    /// A fresh set of the command's arguments, to fill from the command line.
    std::unique_ptr<CommandArgs> (*args)();
    /// How a batch line selected for this operation is called; null for operations that are
    /// not batch operations.
    boost::asio::awaitable<LineOutcome> (*callLine)(std::uint64_t line, Client& client, const BatchRequest& request,
                                                    const CallOptions& options, SendContext& sends);
    /// How wix-inbox-bench loads the service with it; none for commands that are not one call.
    std::optional<BenchOperation> bench;
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
