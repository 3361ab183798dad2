// SPDX-License-Identifier: BSL-1.0
// A batch line that sends a message, exactly once (the design is in docs/bulk-send.md):
// one send at a time per conversation; before each send, the intent goes to the journal;
// a line with an intent but no stored message (a lost answer, a kill, a timeout after the
// request was written) first looks for its message among the conversation's newest ones,
// and sends only if it is not there.
#pragma once

#include "ndjson.hpp"
#include "send_journal.hpp"

#include <wix/inbox/client.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace wix::inbox::cli {

/// What the sends of one batch share. Used from one thread (the batch's io_context).
struct SendContext {
    explicit SendContext(SendJournal& j) : journal(j) {}
    SendJournal& journal;
    std::uint64_t reconciliationRequests = 0; ///< ListMessages calls made to reconcile
    std::uint64_t reconciled = 0;             ///< lines whose message was found, not sent again

    /// One line at a time per conversation: a reconciliation never races another line's
    /// send to it. A conversation has a queue while a line holds its turn.
    struct Queue {
        struct Waiter;
        std::deque<std::shared_ptr<Waiter>> waiters;
    };
    std::unordered_map<std::string, std::shared_ptr<Queue>> conversations;
};

/// Sends the line's message (resolving its participant first) and gives its output line:
/// ok with "conversationId" and the stored "message", or the error. An Errc::outcomeUnknown
/// error leaves an intent behind: calling the line again reconciles first.
boost::asio::awaitable<std::pair<std::string, std::optional<Error>>>
sendLine(std::uint64_t line, Client& client, const BatchRequest& request, const CallOptions& options, SendContext& sends);

} // namespace wix::inbox::cli
