// SPDX-License-Identifier: BSL-1.0
// The client's rate limiter, without I/O: when each request may go, and how answers move
// the rate (include/wix/inbox/rate_limit.hpp documents the algorithm). Thread-safe. The
// Client sleeps until the time a Turn names and asks again; tests drive it with a fake clock.
#pragma once

#include <wix/inbox/rate_limit.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>

namespace wix::inbox::detail {

using Clock = std::chrono::steady_clock;

struct RateLimiterStats {
    double requestsPerSecond = 0; ///< the rate enforced now; 0 while not limiting
    double waitSeconds = 0;       ///< time calls waited for their turn, in all
};

class RateLimiter {
public:
    explicit RateLimiter(const RateLimitOptions& options);

    /// False while every request may go at once (no bucket, no hold): callers skip take().
    bool limiting() const noexcept { return limiting_.load(std::memory_order_acquire); }
    bool enabled() const noexcept { return options_.mode != RateLimitOptions::Mode::off; }

    /// A request's place in the queue. Places are served in the order taken, each at the
    /// pace in force when it reaches the head, so a cut or a raise moves every waiting
    /// request at once.
    struct Turn {
        std::uint64_t place = 0;
        Clock::time_point asked{};
        bool ready = false;      ///< the request may go now
        Clock::time_point at{};  ///< if not ready, when to ask again (check())
        std::uint64_t epoch = 0; ///< if ready, the rate's epoch (cuts so far)
    };
    /// Takes the next place for a request asked at `now`. Nothing, and no place taken, if
    /// the turn would come after `deadline` at the present rate.
    std::optional<Turn> take(Clock::time_point now, Clock::time_point deadline);
    /// Asks again at `now` whether the turn has come; updates `turn` as take() does. False,
    /// and the place given up, if the turn would now come after `deadline`. While the rate
    /// may still rise, `at` is well before the turn, so that a raise is used.
    bool check(Turn& turn, Clock::time_point now, Clock::time_point deadline);
    /// Gives up a place that is not ready (the call was cancelled): the places behind move up.
    void leave(const Turn& turn);
    /// The epoch of a request sent without take() (while not limiting).
    std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }

    /// An answer arrived at `now` for a request whose turn had `epoch`: `throttled` for 429
    /// (`retryAfter` the wait it names, if > 0). As TCP cuts its window once per loss event,
    /// the rate is cut once for all the requests that went at the old rate: their throttles
    /// are that same event. Any answer ends an outage (onUnavailable).
    void onAnswer(Clock::time_point now, std::uint64_t epoch, bool throttled,
                  std::optional<std::chrono::milliseconds> retryAfter);
    /// A 503 naming a wait (`retryAfter` > 0) arrived at `now`. One alone holds no other call:
    /// services answer a few at random, and the call that got it waits `retryAfter` itself.
    /// `outageAnswers` of them in a row, no other answer between, are an outage: the client
    /// is held until `retryAfter` from the last, then sends one request (a probe) per
    /// `retryAfter` until another answer comes.
    void onUnavailable(Clock::time_point now, std::chrono::milliseconds retryAfter);

    RateLimiterStats stats() const;

    static constexpr double beta = 0.7;
    static constexpr double scale = 0.4; // C
    static constexpr double minRate = 0.5;
    static constexpr std::chrono::milliseconds timerLateness{2};
    static constexpr double recoveryRequests = 120; // K is at least this many requests at Wmax
    static constexpr double smoothing = 0.8;
    static constexpr double doublingSeconds = 1; // after the first cut, until the second
    static constexpr double probeHeadroom = 1.2; // the rate stays within this of the admitted rate
    // 503s in a row that make an outage: 5% of answers at random make four in a row once in
    // 160,000 answers; calls in flight when a service goes down make them at once.
    static constexpr int outageAnswers = 4;

private:
    void measure(Clock::time_point now);                       // counts an answer; locks only when a window closes
    void setRate(double requestsPerSecond, Clock::time_point now, bool cut); // mutex_ held
    // mutex_ held for these:
    Clock::time_point estimate(std::uint64_t place, Clock::time_point now) const; // when `place` may go
    void decide(Turn& turn, Clock::time_point now);
    void leaveQueue(std::uint64_t place);

    const RateLimitOptions options_;
    std::atomic<bool> limiting_{false}; // a bucket or a hold is in force: take() must lock
    std::atomic<bool> adapting_{false}; // adaptive, and throttled once: every answer moves the rate
    std::atomic<std::int64_t> window_{-1};  // the half-second window being counted
    std::atomic<std::uint64_t> answers_{0}; // answers counted in it
    std::atomic<std::uint64_t> earlyThrottles_{0}; // throttles before the first cut
    std::atomic<std::uint64_t> epoch_{0};   // cuts so far
    std::atomic<int> unavailable_{0};       // 503s with Retry-After in a row; written with mutex_ held

    mutable std::mutex mutex_;
    bool bucket_ = false; // the schedule below is in force
    double rate_ = 0;     // requests per second
    double capacity_ = 1; // burst
    // The queue: places head_ .. nextPlace_ - 1 wait, but for those in gone_ (given up,
    // or gone without a bucket). GCRA paces its head: tat_ is when the next request would
    // go at the steady pace; it may go up to (capacity_ - 1) / rate_ earlier.
    std::uint64_t nextPlace_ = 0;
    std::uint64_t head_ = 0;
    std::set<std::uint64_t> gone_;
    Clock::time_point tat_{};
    Clock::time_point holdUntil_{};
    // An outage: only the head goes, one request per outagePeriod_, the next at probeAt_.
    bool outage_ = false;
    Clock::duration outagePeriod_{};
    Clock::time_point probeAt_{};
    double waitSeconds_ = 0;
    // adaptive
    double measuredRate_ = 0;
    double lastMaxRate_ = 0;
    bool discovering_ = false; // between the first cut and the second
    Clock::time_point lastThrottle_{}; // of the last cut
};

} // namespace wix::inbox::detail
