// SPDX-License-Identifier: BSL-1.0
// wix::inbox::Client: the Wix Inbox v2 Conversations and Messages APIs as C++20 coroutines.
//
//     wix::inbox::Client client(ioc.get_executor(), {.credentials = wix::inbox::ApiKey{key, siteId}});
//     auto r = co_await client.getOrCreateConversation(wix::inbox::ParticipantId::member(id));
//     if (r) use(r->conversation.id); else log(r.error().describe());
//
// Every call completes exactly once with a value or an Error, never throws for service or
// transport failures (`r.value()` throws wix::inbox::Exception if you prefer exceptions),
// and goes through the Client's shared connection pool and retry policy.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>
#include <wix/inbox/options.hpp>
#include <wix/inbox/pager.hpp>
#include <wix/inbox/pool.hpp>
#include <wix/inbox/stats.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wix::inbox {

namespace webhooks {
struct ConversationsMerged;
}

/// A client of one Wix origin. Cheap to share: all calls may run concurrently from any
/// number of coroutines on an io_context run by any number of threads.
///
/// Per-operation cancellation: every call supports terminal cancellation (e.g.
/// `co_await (client.getConversation(id) || timer.async_wait(use_awaitable))`) at any
/// point, including while waiting for a connection or sleeping between retries; it then
/// completes with Errc::cancelled and the pool stays consistent.
///
/// Lifetime: destroying the Client ends its calls waiting to retry (or for their rate-limit
/// turn) with Errc::clientShutdown; destroying the last Client over a pool (see forTenant)
/// ends every call of theirs still in flight the same way and closes its connections.
/// close() ends the same work but lets requests already sent finish.
class Client {
public:
    /// Throws Exception (Errc::invalidArgument) for invalid options, e.g. a non-https
    /// base URL, header values with line breaks, or an unreadable CA file.
    Client(boost::asio::any_io_executor executor, ClientOptions options);
    ~Client();
    Client(Client&&) noexcept;
    Client& operator=(Client&&) noexcept;

    /// Every call checks and copies its arguments before returning: they need not outlive
    /// the awaitable; invalid input fails with Errc::invalidArgument before anything is sent.
    ///
    /// GET /inbox/v2/conversations/{id}. Idempotent. Errors of note: 404
    /// CONVERSATION_NOT_FOUND, 403 NOT_OWNED_BY_BUSINESS.
    boost::asio::awaitable<Result<Conversation>>
    getConversation(std::string_view conversationId, const CallOptions& options = {});

    /// POST /inbox/v2/conversations. Idempotent by the API's semantics (one conversation
    /// per participant), so retried on transient failures. An invalid participant ID
    /// fails with Errc::invalidArgument before anything is sent. With a conversation cache
    /// (conversation_cache.hpp), answered from it while an entry lives, and one request
    /// serves every concurrent call for the same participant.
    boost::asio::awaitable<Result<GetOrCreateConversationResponse>>
    getOrCreateConversation(const ParticipantId& participant, const CallOptions& options = {});

    /// GET /inbox/v2/messages: one page of a conversation's messages, newest first unless
    /// `list.order` says otherwise. Idempotent. `visibility` is required (not `unknown`).
    /// Errors of note: 404 CONVERSATION_NOT_FOUND, NO_INBOX_INSTANCE, NOT_JOINED_CHATROOM,
    /// INBOX_INSTANCE_NOT_FOUND.
    boost::asio::awaitable<Result<MessagesPage>> listMessages(std::string_view conversationId, Visibility visibility,
                                                              const ListMessagesOptions& list = {},
                                                              const CallOptions& options = {});

    /// Every page of a listing (`list.cursor` is ignored: the walk starts at the first
    /// page), asked with the same visibility, order and limit. Makes no call until next().
    Pager<MessagesPage> messages(std::string conversationId, Visibility visibility, ListMessagesOptions list = {},
                                 CallOptions options = {}) const;

    /// POST /inbox/v2/messages: sends `message` (see textMessage()) and returns it as stored,
    /// with its ID and sequence. NOT idempotent, and the API has no idempotency key: it is
    /// re-sent only when the request cannot have reached the server (no connection, a 429).
    /// When it may have (a timeout or reset after writing, HTTP 5xx) the call fails with
    /// Errc::outcomeUnknown: list the conversation's newest messages to learn whether it was
    /// sent before sending again. Checked first: the conversation ID, exactly one content
    /// kind, texts of 1..16,384 characters of valid UTF-8, visibility and direction set,
    /// sender IDs. Errors of note: IDENTITY_DOES_NOT_MATCH, INBOX_INSTANCE_NOT_FOUND,
    /// INVALID_MEDIA_URL.
    boost::asio::awaitable<Result<Message>> sendMessage(std::string_view conversationId, const Message& message,
                                                        const SendMessageOptions& send = {},
                                                        const CallOptions& options = {});

    /// A Client for another tenant (one site, one app instance) over this one's connection
    /// pool and TLS session cache: its own credentials, token cache, rate limiter, retry
    /// budget and statistics of calls; the same origin and other options. Cheap (no
    /// connection, no I/O): a multi-tenant app makes one per tenant and keeps one pool.
    /// The pool closes when the last Client over it is destroyed, whichever it is.
    /// ClientStats::pool of each is the shared pool's.
    Client forTenant(Credentials credentials) const;
    /// The same with its own conversation cache options (e.g. a cache for a busy tenant only).
    Client forTenant(Credentials credentials, const ConversationCacheOptions& cache) const;

    /// Forgets the cached entries of the conversations a `conversations_merged` webhook
    /// merged away (verified with webhooks::Verifier; apply it to the Client of its
    /// instanceId). Returns the entries dropped; 0 without a cache. Thread-safe.
    std::size_t applyMerge(const webhooks::ConversationsMerged& event);

    /// Ends this Client's work gracefully, so that `io_context::run()` can return: calls
    /// that start afterwards, and calls waiting to retry or for their rate-limit turn, end
    /// with Errc::clientShutdown; requests already sent complete (and are not retried).
    /// Closing the last Client over a pool (see forTenant) also fails the calls waiting for
    /// a connection, closes idle connections and stops the pool's idle timer; busy ones close
    /// when their exchange ends. Idempotent, thread-safe; destroying the Client afterwards
    /// aborts nothing more.
    void close();

    ClientStats stats() const;

    class Impl;

private:
    Client() = default;
    std::shared_ptr<Impl> impl_;
};

/// The library's version, as sent in `User-Agent`.
std::string_view version() noexcept;

} // namespace wix::inbox
