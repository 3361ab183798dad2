// The client's rate limiter, without I/O: when each request may go, and how answers move
// the rate (include/wix/inbox/rate_limit.hpp documents the algorithm). Thread-safe. The
// Client sleeps until the time reserve() gives; tests drive it with a fake clock.
#pragma once

#include <wix/inbox/rate_limit.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace wix::inbox::detail {

using Clock = std::chrono::steady_clock;

struct RateLimiterStats {
    double requestsPerSecond = 0; ///< the rate enforced now; 0 while not limiting
    double waitSeconds = 0;       ///< time calls were told to wait for their turn, in all
};

class RateLimiter {
public:
    explicit RateLimiter(const RateLimitOptions& options);

    /// False while every request may go at once (no bucket, no hold): callers skip reserve().
    bool limiting() const noexcept { return limiting_.load(std::memory_order_acquire); }
    bool enabled() const noexcept { return options_.mode != RateLimitOptions::Mode::off; }

    /// A request's turn: when it may be sent, and under which rate (the epoch counts cuts).
    struct Turn {
        Clock::time_point at;
        std::uint64_t epoch;
    };
    /// When a request asked for at `now` may be sent (`now` if at once). The turn is
    /// reserved, so turns are handed out in the order asked. Nothing, and nothing reserved,
    /// if the turn would come after `deadline`.
    std::optional<Turn> reserve(Clock::time_point now, Clock::time_point deadline);
    /// The epoch of a request sent without reserve() (while not limiting).
    std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

    /// An answer arrived at `now` for a request whose turn had `epoch`: `throttled` for 429,
    /// or 503 with Retry-After. As TCP cuts its window once per loss event, the rate is cut
    /// once for all the requests whose turns were given at the old rate: their throttles are
    /// that same event.
    void onAnswer(Clock::time_point now, std::uint64_t epoch, bool throttled,
                  std::optional<std::chrono::milliseconds> retryAfter);

    RateLimiterStats stats() const;

    static constexpr double beta = 0.7;
    static constexpr double scale = 0.4; // C
    static constexpr double minRate = 0.5;
    static constexpr double smoothing = 0.8;
    static constexpr double probeHeadroom = 1.2; // the rate stays within this of the admitted rate

private:
    void measure(Clock::time_point now);        // counts an answer; locks only when a window closes
    void setRate(double requestsPerSecond);      // mutex_ held

    const RateLimitOptions options_;
    std::atomic<bool> limiting_{false}; // a bucket or a hold is in force: reserve() must lock
    std::atomic<bool> adapting_{false}; // adaptive, and throttled once: every answer moves the rate
    std::atomic<std::int64_t> window_{-1};  // the half-second window being counted
    std::atomic<std::uint64_t> answers_{0}; // answers counted in it
    std::atomic<std::uint64_t> epoch_{0};   // cuts so far

    mutable std::mutex mutex_;
    bool bucket_ = false;          // the GCRA bucket below is in force
    double rate_ = 0;              // requests per second
    double capacity_ = 1;          // burst
    Clock::time_point tat_{};      // GCRA's theoretical arrival time of the next request
    Clock::time_point holdUntil_{};
    double waitSeconds_ = 0;
    // adaptive
    double measuredRate_ = 0;
    double lastMaxRate_ = 0;
    Clock::time_point lastThrottle_{}; // of the last cut
};

} // namespace wix::inbox::detail
