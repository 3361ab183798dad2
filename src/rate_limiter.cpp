#include "rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace wix::inbox::detail {
namespace {

double seconds(Clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

Clock::duration toDuration(double s)
{
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

} // namespace

RateLimiter::RateLimiter(const RateLimitOptions& options) : options_(options)
{
    if (options_.mode == RateLimitOptions::Mode::fixed) {
        bucket_ = true;
        rate_ = options_.requestsPerSecond;
        capacity_ = options_.burst;
        limiting_ = true;
    }
}

std::optional<RateLimiter::Turn> RateLimiter::reserve(Clock::time_point now, Clock::time_point deadline)
{
    if (!limiting_.load(std::memory_order_acquire))
        return Turn{now, epoch()};
    std::lock_guard lock(mutex_);
    auto start = std::max(now, holdUntil_);
    const auto interval = bucket_ ? toDuration(1.0 / rate_) : Clock::duration::zero();
    if (bucket_) // GCRA: up to `capacity_` requests may go ahead of the steady pace
        start = std::max(start, tat_ - toDuration((capacity_ - 1) / rate_));
    if (start > deadline)
        return std::nullopt;
    if (bucket_)
        tat_ = std::max(tat_, start) + interval;
    waitSeconds_ += seconds(start - now);
    return Turn{start, epoch_.load(std::memory_order_relaxed)};
}

void RateLimiter::onAnswer(Clock::time_point now, std::uint64_t epoch, bool throttled,
                           std::optional<std::chrono::milliseconds> retryAfter)
{
    if (options_.mode == RateLimitOptions::Mode::off)
        return;
    const bool adaptive = options_.mode == RateLimitOptions::Mode::adaptive;
    if (adaptive && !throttled) // the rate the server admits
        measure(now);
    if (!throttled && (!adaptive || !adapting_.load(std::memory_order_acquire)))
        return; // the common case: nothing to change, no lock
    std::lock_guard lock(mutex_);
    if (throttled && retryAfter) {
        holdUntil_ = std::max(holdUntil_, now + *retryAfter);
        limiting_.store(true, std::memory_order_release);
    }
    // One cut per loss event: the requests whose turns were given at the old rate meet a
    // server whose own bucket that rate emptied.
    // A throttle that names its wait is obeyed by the hold; the rate is cut for throttles
    // that leave the client to find the server's rate (Wix's 429 names none), and only
    // once per loss event.
    if (!adaptive || (!throttled && !bucket_)
        || (throttled && (retryAfter || epoch != epoch_.load(std::memory_order_relaxed))))
        return;
    double next = 0;
    if (throttled) {
        // Limiting already: cut from the rate enforced, as TCP from its window. Else from the
        // rate admitted so far; before a half-second window has closed, the open one is it.
        const double measured = measuredRate_ > 0 ? measuredRate_
                                                  : static_cast<double>(answers_.load(std::memory_order_relaxed)) * 2;
        // ...but never above twice what the server admits: far above its limit, the rate
        // gets there in a few windows rather than a cut per loss event.
        double current = bucket_ ? rate_ : measured;
        if (bucket_ && measuredRate_ > 0)
            current = std::min(current, 2 * measuredRate_);
        lastMaxRate_ = current > 0 ? current : rate_;
        lastThrottle_ = now;
        next = lastMaxRate_ * beta;
        bucket_ = true;
        epoch_.fetch_add(1, std::memory_order_release);
        limiting_.store(true, std::memory_order_release);
        adapting_.store(true, std::memory_order_release);
    } else {
        const double k = std::cbrt(lastMaxRate_ * (1 - beta) / scale);
        next = scale * std::pow(seconds(now - lastThrottle_) - k, 3) + lastMaxRate_;
        if (measuredRate_ > 0) // probe, but not far past what the server admits
            next = std::min(next, probeHeadroom * measuredRate_);
    }
    setRate(next);
    if (throttled) // no burst right after a cut: the server has nothing left to admit it with
        tat_ = std::max(tat_, now + toDuration((capacity_ - 1) / rate_));
}

void RateLimiter::setRate(double requestsPerSecond)
{
    if (options_.requestsPerSecond > 0)
        requestsPerSecond = std::min(requestsPerSecond, options_.requestsPerSecond);
    rate_ = std::max(requestsPerSecond, minRate);
    capacity_ = std::max(rate_, 1.0);
}

void RateLimiter::measure(Clock::time_point now)
{
    const auto window = static_cast<std::int64_t>(std::floor(seconds(now.time_since_epoch()) * 2));
    answers_.fetch_add(1, std::memory_order_relaxed);
    auto counting = window_.load(std::memory_order_relaxed);
    if (counting == window)
        return;
    std::lock_guard lock(mutex_);
    counting = window_.load(std::memory_order_relaxed);
    if (counting >= window)
        return; // another thread closed it
    const auto answers = answers_.exchange(1, std::memory_order_relaxed) - 1; // this answer opens the new one
    if (counting >= 0) {
        const double rate = static_cast<double>(answers) / (static_cast<double>(window - counting) / 2);
        measuredRate_ = rate * smoothing + measuredRate_ * (1 - smoothing);
    }
    window_.store(window, std::memory_order_relaxed);
}

RateLimiterStats RateLimiter::stats() const
{
    std::lock_guard lock(mutex_);
    return {bucket_ ? rate_ : 0.0, waitSeconds_};
}

} // namespace wix::inbox::detail
