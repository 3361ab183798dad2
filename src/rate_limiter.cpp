// SPDX-License-Identifier: BSL-1.0
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

std::optional<RateLimiter::Turn> RateLimiter::take(Clock::time_point now, Clock::time_point deadline)
{
    if (!limiting_.load(std::memory_order_acquire))
        return Turn{0, now, true, now, epoch()};
    std::lock_guard lock(mutex_);
    Turn turn{nextPlace_, now};
    if (estimate(turn.place, now) > deadline)
        return std::nullopt;
    ++nextPlace_;
    decide(turn, now);
    return turn;
}

bool RateLimiter::check(Turn& turn, Clock::time_point now, Clock::time_point deadline)
{
    std::lock_guard lock(mutex_);
    if (estimate(turn.place, now) > deadline) {
        leaveQueue(turn.place);
        return false;
    }
    decide(turn, now);
    return true;
}

void RateLimiter::leave(const Turn& turn)
{
    std::lock_guard lock(mutex_);
    leaveQueue(turn.place);
}

Clock::time_point RateLimiter::estimate(std::uint64_t place, Clock::time_point now) const
{
    const auto held = outage_ ? std::max(holdUntil_, probeAt_) : holdUntil_;
    if (!bucket_)
        return std::max(now, held);
    // GCRA: the head may go up to a burst ahead of the steady pace; the places behind it
    // that are still waiting follow it one interval each.
    const auto head = std::max({now, held, tat_ - toDuration((capacity_ - 1) / rate_)});
    auto waitingAhead = place - head_;
    for (auto gone = gone_.begin(); gone != gone_.end() && *gone < place; ++gone)
        --waitingAhead;
    return head + toDuration(static_cast<double>(waitingAhead) / rate_);
}

void RateLimiter::decide(Turn& turn, Clock::time_point now)
{
    const auto go = estimate(turn.place, now);
    turn.epoch = epoch_.load(std::memory_order_relaxed);
    // Only the head of the queue goes: the places are served in order, whoever wakes first.
    // Without a bucket every place whose time has come goes, but in an outage: one probe.
    turn.ready = go <= now + std::chrono::microseconds(1) // the rounding of the pace's doubles
        && (turn.place == head_ || (!bucket_ && !outage_));
    if (turn.ready) {
        if (outage_)
            probeAt_ = now + outagePeriod_;
        // A waiter's timer fires a little late (a millisecond or two): counting the pace from
        // when it woke would slow it by that much at every turn (100/s became 92/s). Up to
        // `timerLateness` of it is forgiven, never more than half an interval.
        if (bucket_) {
            const auto interval = toDuration(1 / rate_);
            const auto forgiven = std::min<Clock::duration>(timerLateness, interval / 2);
            tat_ = std::max({tat_, turn.asked, holdUntil_, now - forgiven}) + interval;
        }
        leaveQueue(turn.place);
        turn.at = now;
        waitSeconds_ += seconds(now - turn.asked);
        return;
    }
    // While adapting, the rate may rise before the turn comes: ask again half way there,
    // and at least every second (recovery can more than double the rate in a long wait).
    auto left = std::max<Clock::duration>(go - now, std::chrono::milliseconds(1));
    // In an outage the places behind the head wake with it at the probe's time: they ask
    // again a little later than the head rather than every millisecond until it has gone.
    if (outage_ && turn.place != head_)
        left = std::max<Clock::duration>(left, outagePeriod_ / 8);
    turn.at = adapting_.load(std::memory_order_relaxed) && left > std::chrono::milliseconds(20)
        ? now + std::min<Clock::duration>(left / 2, std::chrono::seconds(1))
        : now + left;
}

void RateLimiter::leaveQueue(std::uint64_t place)
{
    if (place != head_) {
        if (place > head_)
            gone_.insert(place);
        return;
    }
    ++head_;
    for (auto gone = gone_.begin(); gone != gone_.end() && *gone == head_; gone = gone_.erase(gone))
        ++head_;
}

void RateLimiter::onAnswer(Clock::time_point now, std::uint64_t epoch, bool throttled,
                           std::optional<std::chrono::milliseconds> retryAfter)
{
    if (options_.mode == RateLimitOptions::Mode::off)
        return;
    if (unavailable_.load(std::memory_order_acquire) != 0) { // the service answers again
        std::lock_guard lock(mutex_);
        unavailable_.store(0, std::memory_order_relaxed);
        outage_ = false;
    }
    const bool adaptive = options_.mode == RateLimitOptions::Mode::adaptive;
    if (adaptive && !throttled) // the rate the server admits
        measure(now);
    if (adaptive && throttled && !adapting_.load(std::memory_order_acquire))
        earlyThrottles_.fetch_add(1, std::memory_order_relaxed);
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
        // rate admitted so far; before a half-second window has closed, from every answer so
        // far as if in one second (a job may start against a server with nothing left to
        // admit: its first answers are all throttles).
        const double measured = measuredRate_ > 0
            ? measuredRate_
            : static_cast<double>(answers_.load(std::memory_order_relaxed) + earlyThrottles_.load(std::memory_order_relaxed));
        const double current = bucket_ ? rate_ : measured;
        lastMaxRate_ = current > 0 ? current : rate_;
        // The first loss event says the server's bucket is empty, not how fast it refills:
        // it may have been emptied before the client sent much (a busy minute, another
        // process), and the rate measured then is the client's demand, or a request or two.
        discovering_ = !bucket_;
        lastThrottle_ = now;
        next = lastMaxRate_ * beta;
        epoch_.fetch_add(1, std::memory_order_release);
        limiting_.store(true, std::memory_order_release);
        adapting_.store(true, std::memory_order_release);
    } else if (discovering_) {
        // So the rate doubles each second from the first cut, as TCP's slow start, until the
        // next loss event; it is measured then, at a rate the client enforced.
        next = lastMaxRate_ * beta * std::exp2(seconds(now - lastThrottle_) / doublingSeconds);
    } else {
        const double k = std::max(std::cbrt(lastMaxRate_ * (1 - beta) / scale), recoveryRequests / lastMaxRate_);
        const double c = lastMaxRate_ * (1 - beta) / (k * k * k);
        next = c * std::pow(seconds(now - lastThrottle_) - k, 3) + lastMaxRate_;
    }
    // Probe, but not far past what the server admits (a window with few answers lowers
    // nothing: the rate would follow its own shortfall down).
    if (!throttled && measuredRate_ > 0)
        next = std::min(next, std::max(rate_, probeHeadroom * measuredRate_));
    setRate(next, now, throttled);
}

void RateLimiter::onUnavailable(Clock::time_point now, std::chrono::milliseconds retryAfter)
{
    if (options_.mode == RateLimitOptions::Mode::off)
        return;
    std::lock_guard lock(mutex_);
    const int inARow = std::min(unavailable_.load(std::memory_order_relaxed) + 1, outageAnswers);
    unavailable_.store(inARow, std::memory_order_release);
    if (inARow < outageAnswers)
        return;
    outage_ = true;
    outagePeriod_ = retryAfter;
    probeAt_ = std::max(probeAt_, now + retryAfter);
    limiting_.store(true, std::memory_order_release);
}

void RateLimiter::setRate(double requestsPerSecond, Clock::time_point now, bool cut)
{
    if (options_.requestsPerSecond > 0)
        requestsPerSecond = std::min(requestsPerSecond, options_.requestsPerSecond);
    requestsPerSecond = std::max(requestsPerSecond, minRate);
    // The debt of the requests that went ahead of the steady pace is kept in requests (up
    // to a burst at the new rate); after a cut the next request waits one interval.
    const double burst = std::max(requestsPerSecond, 1.0) - 1;
    double ahead = 0;
    if (bucket_)
        ahead = std::clamp(seconds(tat_ - now) * rate_, 0.0, burst + 1);
    if (cut)
        ahead = burst + 1;
    bucket_ = true;
    rate_ = requestsPerSecond;
    capacity_ = burst + 1;
    tat_ = now + toDuration(ahead / rate_);
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
