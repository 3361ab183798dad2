// SPDX-License-Identifier: BSL-1.0
// wix::inbox::Observer: what a Client does, told as it happens (attempts, retries,
// throttling, rate-limit waits, token requests, pooled connections, conversation-cache
// lookups), for logs, metrics and traces. Set ClientOptions::observer; without one the
// Client pays a null check per step.
//
//     struct Counter : wix::inbox::Observer {
//         std::atomic<int> retries{0};
//         void onRetry(const wix::inbox::RetryEvent&) override { ++retries; }
//     };
//
// Attributes are named after OpenTelemetry's HTTP client semantic conventions
// (`http.request.method`, `url.template`, `server.address`, `server.port`,
// `http.response.status_code`, `error.type`, `http.request.resend_count`), so a bridge to
// spans or metrics copies them under those names.
//
// Secrets: no event holds one. There is no request body or response body in any event, and
// the headers (only for an observer that wantsHeaders()) come with the values of
// Authorization, Cookie, Set-Cookie and Proxy-Authorization replaced by "[redacted]".
//
// Threads: a callback runs on the thread that runs the io_context completing the step it
// reports, at once (never queued). With an io_context run by several threads, and with the
// tenants of forTenant() sharing their observer, callbacks run concurrently: an observer
// must be thread-safe.
//
// What a callback may not do: block (it holds up the call it reports, and every handler
// queued behind it on that thread). No lock of the Client is held while it runs, so reading
// Client::stats() from one is fine. Callbacks should not throw; one that does has its
// exception caught and dropped, and the call goes on as if it had returned.
//
// Lifetime: every string_view and span of an event is valid only during the callback; copy
// what you keep. The Client and its tenants keep the observer alive (a shared_ptr).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace wix::inbox {

/// One HTTP header, as sent or received (sensitive values already "[redacted]").
struct HeaderField {
    std::string_view name;
    std::string_view value;
};

/// What every event of a call carries: which operation, to where, for whom.
struct CallAttributes {
    std::string_view operation;   ///< "GetOrCreateConversation", "GetConversation", "ListMessages",
                                  ///< "SendMessage", "RequestToken" (the OAuth token endpoint)
    std::string_view method;      ///< http.request.method: "GET", "POST"
    std::string_view urlTemplate; ///< url.template, e.g. "/inbox/v2/conversations/{conversationId}"
    std::string_view serverAddress; ///< server.address: the base URL's host
    std::uint16_t serverPort = 0; ///< server.port
    /// The Client's tenant: "site:ID", "account:ID" (ApiKey), "instance:ID" (OAuthApp); empty
    /// for other credentials. Identifiers, never secrets.
    std::string_view tenant;
};

/// An attempt is about to wait for a connection and send its request.
struct AttemptStart {
    CallAttributes call;
    int resendCount = 0; ///< http.request.resend_count: 0 for a call's first attempt
    /// The request's headers, for an observer that wantsHeaders(); empty otherwise.
    std::span<const HeaderField> requestHeaders;
};

/// An attempt ended: a complete response, or an error before one.
struct AttemptEnd {
    CallAttributes call;
    int resendCount = 0;
    int statusCode = 0;          ///< http.response.status_code; 0 when no response came
    /// error.type: empty on success (2xx); the status code ("503") for an HTTP error; the
    /// Errc name ("timeout", "connectionClosed", ...) when no response came.
    std::string_view errorType;
    std::string_view requestId;  ///< the response's X-Wix-Request-Id; may be empty
    std::chrono::nanoseconds duration{}; ///< from AttemptStart, connection wait included
    std::string_view retryAfter; ///< the response's Retry-After as sent; usually empty
    /// The server asked to slow down: a 429, or a 503 whose Retry-After names a wait (a 503
    /// with `Retry-After: 0` is a failure). As counted in ClientStats::throttled; a
    /// ThrottleEvent follows.
    bool throttled = false;
    /// When the call sends the request again after this attempt: the pause before it.
    std::optional<std::chrono::milliseconds> retryIn;
    std::span<const HeaderField> requestHeaders;  ///< as in AttemptStart
    std::span<const HeaderField> responseHeaders; ///< for an observer that wantsHeaders()
};

/// A call will send its request again after `delay` (reported after the AttemptEnd).
struct RetryEvent {
    CallAttributes call;
    int resendCount = 0; ///< of the coming attempt: 1 for the first retry
    std::chrono::milliseconds delay{};
    std::string_view reason; ///< the failure retried, as Error::describe() says it
};

/// The server asked to slow down: a 429, or a 503 naming a wait (reported after its AttemptEnd).
struct ThrottleEvent {
    CallAttributes call;
    int statusCode = 0;
    std::optional<std::chrono::milliseconds> retryAfter; ///< parsed; none if absent or unreadable
};

/// A call waited for its turn from the client-side rate limiter (rate_limit.hpp).
struct RateLimitWaitEvent {
    CallAttributes call;
    std::chrono::nanoseconds waited{};
    bool gotTurn = true; ///< false: the call ended while waiting (deadline, cancellation, close)
};

/// An OAuth token request ended (OAuthApp credentials). Its attempts are reported as well,
/// as operation "RequestToken"; neither the app secret nor the token is in any event.
struct TokenRequestEvent {
    std::string_view tenant;
    std::chrono::nanoseconds duration{};
    bool ok = false;
    std::string_view errorType; ///< as AttemptEnd's, when not ok
};

/// A pooled connection was opened, reused or closed. The pool is shared by a Client's
/// tenants: `tenant` names the borrower for `reused`, and is empty for `opened` and `closed`.
struct ConnectionEvent {
    enum class Kind { opened, reused, closed };
    enum class Reason {
        none,        ///< opened, reused
        notReusable, ///< the exchange failed, or the response asked to close (Connection: close)
        expired,     ///< idle too long, too old, or served its most requests (PoolOptions)
        serverClosed, ///< the server closed it while it was idle
        shutdown,    ///< the last Client over the pool closed or was destroyed
    };
    Kind kind = Kind::opened;
    Reason reason = Reason::none;
    std::string_view serverAddress;
    std::uint16_t serverPort = 0;
    std::string_view tenant;
    bool tlsResumed = false; ///< opened: the TLS session was resumed (no full handshake)
    std::chrono::nanoseconds connectDuration{}; ///< opened: DNS, TCP and TLS
};

/// A getOrCreateConversation call looked its participant up in the conversation cache
/// (only with one: ConversationCacheOptions). A miss either leads a request or joins the
/// one already in flight for that participant.
struct CacheLookupEvent {
    std::string_view tenant;
    bool hit = false;
    bool joined = false; ///< a miss that shared another call's request
};

/// Receives a Client's events. Every method does nothing by default: override those you
/// want. See the top of this file for threads, exceptions and lifetimes.
class Observer {
public:
    virtual ~Observer() = default;

    /// True to get the headers of each attempt (AttemptStart::requestHeaders,
    /// AttemptEnd::responseHeaders). Asked once, when the Client is made; gathering them
    /// costs a few allocations per attempt.
    virtual bool wantsHeaders() const { return false; }

    virtual void onAttemptStart(const AttemptStart&) {}
    virtual void onAttemptEnd(const AttemptEnd&) {}
    virtual void onRetry(const RetryEvent&) {}
    virtual void onThrottle(const ThrottleEvent&) {}
    virtual void onRateLimitWait(const RateLimitWaitEvent&) {}
    virtual void onTokenRequest(const TokenRequestEvent&) {}
    virtual void onConnection(const ConnectionEvent&) {}
    virtual void onCacheLookup(const CacheLookupEvent&) {}
};

/// "opened", "reused", "closed"; "notReusable", "expired", ... (the enumerators' names).
std::string_view toString(ConnectionEvent::Kind kind) noexcept;
std::string_view toString(ConnectionEvent::Reason reason) noexcept;

} // namespace wix::inbox
