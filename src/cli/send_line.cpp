// SPDX-License-Identifier: BSL-1.0
#include "send_line.hpp"

#include "iso_time.hpp"
#include "job_state.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <stdexcept>

namespace wix::inbox::cli {
namespace net = boost::asio;
namespace json = boost::json;
using SystemClock = std::chrono::system_clock;

struct SendContext::Queue::Waiter {
    explicit Waiter(const net::any_io_executor& ex) : timer(ex, net::steady_timer::time_point::max()) {}
    net::steady_timer timer;
    bool granted = false;
};

namespace {

// A message stored up to this long before its intent was written (the service's clock may
// be behind ours) is still looked at when reconciling; older ones end the search.
constexpr auto clockAllowance = std::chrono::minutes(5);
// The most messages a reconciliation reads: a conversation that got more than 5,000
// messages since the intent is not searched further (the message is then sent again).
constexpr int maxReconciliationPages = 50;

bool sameMessage(const Message& stored, const Message& sent)
{
    return stored.content == sent.content && stored.visibility == sent.visibility && stored.direction == sent.direction;
}

using Outcome = std::pair<std::string, std::optional<Error>>;

Outcome okOutcome(std::uint64_t n, const BatchRequest& request, const std::string& conversationId, const Message& m)
{
    return {okLine(n, request.passthrough, json::object{{"conversationId", conversationId}, {"message", toJson(m)}}),
            std::nullopt};
}

Outcome errorOutcome(std::uint64_t n, const BatchRequest& request, const Error& e)
{
    return {errorLine(n, request.passthrough, e), e};
}

// Holds a conversation's turn: one line at a time sends to (or reconciles) a conversation.
class Turn {
public:
    Turn(SendContext& sends, std::string conversationId) : sends_(sends), id_(std::move(conversationId)) {}
    ~Turn()
    {
        if (!held_)
            return;
        auto& queue = *queue_;
        if (queue.waiters.empty()) {
            sends_.conversations.erase(id_);
            return;
        }
        auto next = std::move(queue.waiters.front()); // hand the turn over
        queue.waiters.pop_front();
        next->granted = true;
        try {
            next->timer.cancel();
        } catch (...) {
            // Cancelling a timer only takes it off its queue: it does not fail in practice.
        }
    }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

    /// False if cancelled while waiting.
    net::awaitable<bool> take()
    {
        auto& slot = sends_.conversations[id_];
        if (!slot) {
            slot = std::make_shared<SendContext::Queue>();
            queue_ = slot;
            held_ = true;
            co_return true;
        }
        queue_ = slot; // the map's entry may go before this frame does
        auto waiter = std::make_shared<SendContext::Queue::Waiter>(co_await net::this_coro::executor);
        queue_->waiters.push_back(waiter);
        co_await waiter->timer.async_wait(net::as_tuple(net::use_awaitable));
        if (waiter->granted) {
            held_ = true;
            co_return true;
        }
        std::erase(queue_->waiters, waiter);
        co_return false;
    }

private:
    SendContext& sends_;
    std::string id_;
    std::shared_ptr<SendContext::Queue> queue_;
    bool held_ = false;
};

// The line's message among the conversation's newest, stored since its intent (within the
// clock allowance) and not another line's: nothing if it is not there; an error if the
// conversation could not be read (the line is then tried again later).
net::awaitable<Result<std::optional<Message>>> findSent(Client& client, const std::string& conversationId,
                                                         const Message& message, const std::string& intentAt,
                                                         const CallOptions& options, SendContext& sends)
{
    const auto intent = parseIso(intentAt);
    const std::string since = isoUtc(intent.value_or(SystemClock::time_point{}) - clockAllowance).substr(0, 19);
    ListMessagesOptions newest;
    newest.limit = 100;
    auto pager = client.messages(conversationId, Visibility::business, newest, options);
    for (int page = 0; page < maxReconciliationPages && !pager.done(); ++page) {
        ++sends.reconciliationRequests;
        auto listed = co_await pager.next();
        if (!listed)
            co_return listed.error();
        for (auto& m : listed->messages) {
            if (m.createdDate && m.createdDate->substr(0, 19) < since)
                co_return std::optional<Message>();
            if (sameMessage(m, message) && sends.journal.unclaimed(m.id))
                co_return std::optional<Message>(std::move(m));
        }
    }
    co_return std::optional<Message>();
}

} // namespace

// A signal cancelled the line while it was between calls: nothing more is sent.
net::awaitable<bool> cancelled()
{
    const auto state = co_await net::this_coro::cancellation_state;
    co_return state.cancelled() != net::cancellation_type::none;
}

net::awaitable<std::pair<std::string, std::optional<Error>>>
sendLine(std::uint64_t n, Client& client, const BatchRequest& request, const CallOptions& options, SendContext& sends)
{
    const auto cancelledLine = [&] {
        return errorOutcome(n, request, makeError(Errc::cancelled, "cancelled before the message was sent"));
    };
    std::string conversationId = request.conversationId;
    if (request.participant) { // resolved at every call: a conversation merged meanwhile has a new ID
        auto resolved = co_await client.getOrCreateConversation(*request.participant, options);
        if (!resolved)
            co_return errorOutcome(n, request, resolved.error());
        conversationId = resolved->conversation.id;
    } else if (!isValidGuid(conversationId)) {
        co_return errorOutcome(n, request, makeError(Errc::invalidArgument, "conversationId is not a GUID"));
    }
    conversationId = lowerCaseGuid(conversationId);

    Turn turn(sends, conversationId);
    if (!co_await turn.take() || co_await cancelled())
        co_return cancelledLine();

    auto& journal = sends.journal;
    if (const auto* earlier = journal.find(n)) {
        if (earlier->input != 0 && earlier->input != request.lineFingerprint)
            throw std::runtime_error("input line " + std::to_string(n) + " is not the line the send journal recorded "
                                     "an intent for: the input was edited since; it is not sent (restore the input, "
                                     "or start again with --overwrite)");
        if (earlier->message) { // sent by an earlier run, which did not write its output line
            auto stored = decodeMessage(*earlier->message);
            if (stored)
                co_return okOutcome(n, request, conversationId, *stored);
        } else if (!earlier->intentAt.empty()) { // perhaps sent: look before sending again
            auto found = co_await findSent(client, conversationId, *request.message, earlier->intentAt, options, sends);
            if (!found)
                co_return errorOutcome(n, request, found.error());
            if (*found) {
                ++sends.reconciled;
                journal.sent(n, conversationId, **found);
                co_return okOutcome(n, request, conversationId, **found);
            }
            if (co_await cancelled())
                co_return cancelledLine();
        }
    }
    journal.intent(n, conversationId, isoUtc(SystemClock::now()), request.lineFingerprint);
    auto sent = co_await client.sendMessage(conversationId, *request.message, {}, options);
    if (!sent)
        co_return errorOutcome(n, request, sent.error());
    journal.sent(n, conversationId, *sent);
    co_return okOutcome(n, request, conversationId, *sent);
}

} // namespace wix::inbox::cli
