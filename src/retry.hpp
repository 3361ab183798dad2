// SPDX-License-Identifier: BSL-1.0
// The retry loop's decisions, without I/O: which failures are retried, how long to wait,
// and when to stop. The Client drives it (client.cpp); tests drive it with a fake clock.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/retry.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace wix::inbox::detail {

using Clock = std::chrono::steady_clock;

/// `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 IMF-fixdate, plus the obsolete
/// RFC 850 and asctime forms), relative to `now`. Nothing for a malformed value; a date in
/// the past gives zero.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

/// The per-client token bucket that stops retry storms. Thread-safe.
class RetryBudget {
public:
    explicit RetryBudget(const RetryBudgetOptions& options);
    void onFailure() noexcept;
    void onSuccess() noexcept;
    /// False while the bucket holds half of its capacity or less.
    bool allowsRetry() const noexcept;
    double tokens() const noexcept;

private:
    // Thousandths of a token, so the bucket is one lock-free integer.
    std::int64_t capacity_;
    std::int64_t refund_;
    std::atomic<std::int64_t> balance_;
};

/// What an attempt that did not succeed tells the retry loop.
struct AttemptFailure {
    const Error& error;
    bool mayHaveReachedServer; ///< Request bytes were written (or partly written).
    std::optional<std::chrono::milliseconds> retryAfter;
    /// A throttling answer the client's rate limiter slows down for: it takes no token from
    /// the retry budget (the limiter, not the budget, keeps such retries from storming). It
    /// still uses an attempt: RetryPolicy::maxAttempts bounds the requests of a call.
    bool handledByRateLimiter = false;
};

struct RetryDecision {
    bool retry = false;
    std::chrono::milliseconds delay{0};
    RetryStop stop = RetryStop::none; ///< Why not, when retry is false.
};

/// One call's retry state.
class RetryState {
public:
    /// Replaced when its call starts, which fixes the start and deadline.
    RetryState() = default;
    RetryState(const RetryPolicy& policy, const BackoffPolicy& backoff, bool idempotent,
               Clock::time_point start, Clock::time_point deadline);

    void startAttempt() noexcept { ++attempts_; }
    int attempts() const noexcept { return attempts_; }

    /// Decides about a failed attempt. `uniform01` is a random draw in [0, 1) for jitter.
    RetryDecision onFailure(const AttemptFailure& failure, Clock::time_point now, RetryBudget& budget,
                            double uniform01);

private:
    RetryPolicy policy_;
    BackoffPolicy backoff_;
    bool idempotent_ = false;
    Clock::time_point start_{};
    Clock::time_point deadline_{};
    int attempts_ = 0;
};

} // namespace wix::inbox::detail
