// SPDX-License-Identifier: BSL-1.0
// How wix-inbox-bench loads the service with one of the CLI's operations: the bench takes its
// --op list from the rows of the command registry (cli/commands.hpp), so an operation added
// there is one the bench can measure.
#pragma once

#include <wix/inbox/client.hpp>
#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wix::inbox::cli {

/// The calls' arguments, made before the run so that it measures the client only.
struct BenchInputs {
    std::vector<ParticipantId> participants;
    std::vector<std::string> conversationIds; ///< of the participants, when the operation needs them
    Message message = textMessage("Your order has shipped: it arrives on Thursday.");
};

/// What a bench worker asks of the run: the next call's number, and where each call's end goes.
class BenchLoop {
public:
    /// The number of the next call to make; false when the run is over.
    virtual bool next(std::uint64_t& i) = 0;
    /// The call just made ended: `error` is null when it succeeded.
    virtual void done(const Error* error) = 0;

protected:
    ~BenchLoop() = default;
};

struct BenchOperation {
    std::string_view name; ///< as --op names it
    std::string_view help; ///< what it measures, beyond the call's name (may be empty)
    /// The participants' conversations are made before the run (for operations on a
    /// conversation), each given this many messages; -1: none made (the participants alone).
    int messagesEach;
    /// One worker: makes calls until `loop` ends the run. Each operation has a loop of its
    /// own that awaits the typed call itself, as a user's coroutine would: a wrapper
    /// coroutine per call would add its frame and its CPU to every figure measured.
    boost::asio::awaitable<void> (*worker)(Client& client, const BenchInputs& inputs, BenchLoop& loop);
};

} // namespace wix::inbox::cli
