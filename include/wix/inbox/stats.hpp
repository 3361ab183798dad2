// SPDX-License-Identifier: BSL-1.0
// ClientStats: what a Client has done so far, read with Client::stats() at any time from any
// thread (each figure is read atomically; together they are a recent view, not a snapshot).
#pragma once

#include <wix/inbox/conversation_cache.hpp>
#include <wix/inbox/pool.hpp>

#include <cstdint>

namespace wix::inbox {

struct ClientStats {
    PoolStats pool;
    std::uint64_t calls = 0;     ///< Calls completed by the service (not the cache's answers).
    std::uint64_t attempts = 0;  ///< Requests sent or tried, retries included.
    std::uint64_t retries = 0;   ///< attempts beyond the first of each call.
    std::uint64_t throttled = 0; ///< answers that asked to slow down: 429, or 503 with Retry-After > 0.
    double rateLimit = 0;        ///< requests/s the rate limiter enforces now; 0 while it does not limit.
    double rateLimitWaitSeconds = 0; ///< time calls waited for their turn, in all.
    double retryBudgetTokens = 0;
    std::uint64_t tokenRequests = 0; ///< OAuth token requests made (OAuthApp credentials).
    ConversationCacheStats conversationCache; ///< all zero without a cache
};

} // namespace wix::inbox
