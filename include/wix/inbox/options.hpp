// SPDX-License-Identifier: BSL-1.0
// What a Client is made with (ClientOptions) and what one call may override (CallOptions).
// Plain values: copy them, keep them in configuration; validated by the Client's constructor.
#pragma once

#include <wix/inbox/auth.hpp>
#include <wix/inbox/conversation_cache.hpp>
#include <wix/inbox/observer.hpp>
#include <wix/inbox/pool.hpp>
#include <wix/inbox/proxy.hpp>
#include <wix/inbox/rate_limit.hpp>
#include <wix/inbox/retry.hpp>
#include <wix/inbox/tls.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wix::inbox {

/// Extra request headers, as (name, value) pairs sent in this order. A name must be an
/// HTTP token; a value holds no control character but tab. A name the client sets itself
/// is refused (case-insensitive): Host, User-Agent (use ClientOptions::userAgentSuffix),
/// Accept, Authorization, wix-site-id, wix-account-id, X-Wix-Consistent, Content-Type,
/// Content-Length, and the connection's own: Connection, Keep-Alive, Transfer-Encoding, TE,
/// Trailer, Upgrade, Expect, Proxy-Authorization. A refusal is Errc::invalidArgument; its
/// message names the header, never its value.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
    /// Scheme, host, optional port and optional path prefix. Only https is accepted.
    std::string baseUrl = "https://www.wixapis.com";
    Credentials credentials;
    TlsOptions tls;
    /// An HTTP proxy to tunnel through (proxy.hpp). Default: none; the environment is read
    /// only through ProxyOptions::fromEnvironment().
    ProxyOptions proxy;
    /// Deadline of a call, covering everything: waiting for a connection, connect, TLS,
    /// write, read and backoff sleeps. Default 30 s. Must be > 0.
    std::chrono::milliseconds timeout{std::chrono::seconds(30)};
    PoolOptions pool;
    RetryPolicy retry;
    BackoffPolicy backoff;
    RetryBudgetOptions retryBudget;
    /// How fast this client sends (rate_limit.hpp). Default: adaptive, which costs nothing
    /// until the server throttles.
    RateLimitOptions rateLimit;
    /// Remembers each participant's conversation (conversation_cache.hpp). Default: off.
    ConversationCacheOptions conversationCache;
    /// Largest response header block accepted. Default 16 KiB; at least 1 KiB.
    std::size_t maxResponseHeaderBytes = std::size_t{16} * 1024;
    /// Largest (decoded) response body accepted. Default 1 MiB; at least 1 KiB.
    /// Every byte a response puts on the wire (status line, headers, interim 1xx responses,
    /// chunk sizes and extensions, trailers and body) counts against
    /// maxResponseHeaderBytes + maxResponseBodyBytes as well; over any limit the call fails
    /// with Errc::responseTooLarge at once and the connection is discarded.
    std::size_t maxResponseBodyBytes = std::size_t{1024} * 1024;
    /// Longest wait, per attempt, from the request sent until the response headers are in
    /// (a server that stalls or trickles). Default 0: only the call's deadline. Expiry:
    /// Errc::timeout for that attempt, which is retried if the deadline allows.
    std::chrono::milliseconds headersTimeout{0};
    /// Longest time, per attempt, from the request sent until the whole response is in.
    /// Default 0: only the call's deadline.
    std::chrono::milliseconds readTimeout{0};
    /// Every request says `User-Agent: wix-inbox-cpp/VERSION`, then a space and this when it
    /// is not empty (e.g. "my-app/2.1"). Default empty. Control characters: the constructor
    /// throws Exception(Errc::invalidArgument).
    std::string userAgentSuffix;
    /// Sent with every request (see Headers). Default none. A refused one: the constructor
    /// throws Exception(Errc::invalidArgument).
    Headers headers;
    /// Told of every attempt, retry, throttle, rate-limit wait, token request, pooled
    /// connection and conversation-cache lookup (observer.hpp; LogObserver in
    /// log_observer.hpp writes them as log lines). Shared with the Client's tenants
    /// (Client::forTenant), whose events name their tenant. Default: none, which costs a
    /// null check per step.
    std::shared_ptr<Observer> observer;
};

/// Per-call overrides of the Client's options.
struct CallOptions {
    std::optional<std::chrono::milliseconds> timeout; ///< Replaces ClientOptions::timeout.
    std::optional<RetryPolicy> retry;                 ///< Replaces ClientOptions::retry.
    Idempotency idempotency = Idempotency::byMethod;
    /// Sent with this call's requests, after ClientOptions::headers (see Headers). A refused
    /// one fails the call with Errc::invalidArgument before anything is sent.
    Headers headers;
};

} // namespace wix::inbox
