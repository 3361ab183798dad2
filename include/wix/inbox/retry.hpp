// SPDX-License-Identifier: BSL-1.0
// Retry, backoff and retry-budget policies. Plain values: the Client's options hold the
// prototypes and every call works on its own copy; a call may override the policy.
//
// What is retried: failures before any response (connect, TLS, reset, timeout of an
// attempt), HTTP 429, 500, 502, 503, 504. Never 400, 401, 403, 404, 409 or a decode error.
// A request that may have reached the server is retried only if the call is idempotent.
#pragma once

#include <chrono>

namespace wix::inbox {

struct RetryPolicy {
    /// The most requests one call sends, the first included: every answer counts, throttling
    /// ones (429, 503 with Retry-After) too, so that a server that keeps throttling gets at most
    /// this many. Default 4. 1 disables retries. Must be >= 1.
    int maxAttempts = 4;
    /// No new attempt starts this long after the first one started. Default 0: no limit
    /// of its own (the call's deadline still applies).
    std::chrono::milliseconds maxElapsed{0};

    static RetryPolicy noRetry() { return RetryPolicy{1, {}}; }
};

/// Exponential backoff with jitter: the n-th retry waits a uniformly random time in
/// [initialDelay / 2, min(maxDelay, initialDelay * multiplier^(n-1))], never less than half the
/// initial delay, so that no retry goes without a pause. A `Retry-After` from a 429 or 503
/// makes the wait the longer of the server's and the drawn one (the server's clamped to
/// maxDelay): a `Retry-After` of 0 or a date in the past does not make a retry go at once.
struct BackoffPolicy {
    std::chrono::milliseconds initialDelay{100}; ///< Default 100 ms; must be > 0.
    double multiplier = 2.0;                     ///< Default 2; must be >= 1.
    std::chrono::milliseconds maxDelay{std::chrono::seconds(5)}; ///< Default 5 s; >= initialDelay.
};

/// A token bucket shared by all calls of one Client, as gRPC's `retryThrottling`: each
/// failed attempt takes one token, each success returns `tokenRatio`; while the bucket
/// holds half of `maxTokens` or less, failures are not retried.
struct RetryBudgetOptions {
    double maxTokens = 100;  ///< Default 100. 0 disables the budget. Range 0..1000.
    double tokenRatio = 0.1; ///< Default 0.1. Range (0, 1].
};

/// How a call may be retried when the request may have reached the server.
enum class Idempotency {
    byMethod,      ///< The method's own classification (both Conversations calls: idempotent).
    idempotent,    ///< Retry even if the request may have been processed.
    nonIdempotent, ///< Retry only failures that provably happened before sending.
};

} // namespace wix::inbox
