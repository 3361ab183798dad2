// SPDX-License-Identifier: BSL-1.0
#include "retry.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>

namespace wix::inbox::detail {
namespace {

using std::chrono::milliseconds;

constexpr std::int64_t oneYearSeconds = 365LL * 24 * 3600;

// Seconds since the epoch of an HTTP-date, for years 1970..9999 only (so no arithmetic
// on it can overflow).
std::optional<std::int64_t> parseHttpDate(std::string_view s)
{
    // strptime needs a NUL-terminated string; dates are short.
    if (s.size() > 64)
        return std::nullopt;
    const std::string text(s);
    static constexpr std::array<const char*, 3> formats{
        "%a, %d %b %Y %H:%M:%S GMT", // IMF-fixdate
        "%A, %d-%b-%y %H:%M:%S GMT", // RFC 850
        "%a %b %e %H:%M:%S %Y",      // asctime
    };
    for (const char* format : formats) {
        std::tm tm{};
        const char* end = ::strptime(text.c_str(), format, &tm);
        if (end && *end == '\0' && tm.tm_year >= 70 && tm.tm_year <= 9999 - 1900)
            return static_cast<std::int64_t>(::timegm(&tm));
    }
    return std::nullopt;
}

} // namespace

std::optional<milliseconds> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now)
{
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    if (value.empty())
        return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        std::uint64_t seconds = 0;
        const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        // A huge number of seconds is "a very long time", not an error.
        if (ec == std::errc::result_out_of_range || seconds > static_cast<std::uint64_t>(oneYearSeconds))
            return milliseconds(oneYearSeconds * 1000);
        return milliseconds(seconds * 1000);
    }
    const auto date = parseHttpDate(value);
    if (!date)
        return std::nullopt;
    const auto delta = *date - static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(now));
    return milliseconds(std::clamp<std::int64_t>(delta, 0, oneYearSeconds) * 1000);
}

RetryBudget::RetryBudget(const RetryBudgetOptions& options)
    : capacity_(std::llround(std::clamp(options.maxTokens, 0.0, 1000.0) * 1000))
    , refund_(std::llround(std::clamp(options.tokenRatio, 0.0, 1.0) * 1000))
    , balance_(capacity_)
{
}

void RetryBudget::onFailure() noexcept
{
    auto current = balance_.load(std::memory_order_relaxed);
    while (current > 0 && !balance_.compare_exchange_weak(current, std::max<std::int64_t>(0, current - 1000)))
        ;
}

void RetryBudget::onSuccess() noexcept
{
    auto current = balance_.load(std::memory_order_relaxed);
    while (current < capacity_
           && !balance_.compare_exchange_weak(current, std::min(capacity_, current + refund_)))
        ;
}

bool RetryBudget::allowsRetry() const noexcept
{
    return capacity_ == 0 || balance_.load(std::memory_order_relaxed) > capacity_ / 2;
}

double RetryBudget::tokens() const noexcept
{
    return static_cast<double>(balance_.load(std::memory_order_relaxed)) / 1000.0;
}

RetryState::RetryState(const RetryPolicy& policy, const BackoffPolicy& backoff, bool idempotent,
                       Clock::time_point start, Clock::time_point deadline)
    : policy_(policy), backoff_(backoff), idempotent_(idempotent), start_(start), deadline_(deadline)
{
}

RetryDecision RetryState::onFailure(const AttemptFailure& failure, Clock::time_point now, RetryBudget& budget,
                                    double uniform01)
{
    if (!isTransient(failure.error))
        return {false, {}, RetryStop::notRetryable};
    if (!failure.handledByRateLimiter)
        budget.onFailure();
    if (failure.mayHaveReachedServer && !idempotent_)
        return {false, {}, RetryStop::notIdempotent};
    if (now >= deadline_)
        return {false, {}, RetryStop::deadline};
    if (attempts_ >= policy_.maxAttempts)
        return {false, {}, RetryStop::attemptsExhausted};
    if (policy_.maxElapsed.count() > 0 && now - start_ >= policy_.maxElapsed)
        return {false, {}, RetryStop::timeLimit};
    if (!budget.allowsRetry())
        return {false, {}, RetryStop::budgetExhausted};
    if (failure.retryAfter && now + *failure.retryAfter >= deadline_)
        return {false, {}, RetryStop::retryAfterTooLong};

    // The draw has a floor (at least 1 ms): a server answering at once with Retry-After: 0
    // would otherwise be asked again at once, as fast as the connection goes.
    const double floor = static_cast<double>(backoff_.initialDelay.count()) / 2;
    const double window = std::min<double>(
        static_cast<double>(backoff_.maxDelay.count()),
        static_cast<double>(backoff_.initialDelay.count()) * std::pow(backoff_.multiplier, attempts_ - 1));
    auto delay = milliseconds(static_cast<std::int64_t>(std::ceil(floor + (window - floor) * uniform01)));
    if (failure.retryAfter)
        delay = std::max(delay, std::min(*failure.retryAfter, backoff_.maxDelay));
    if (now + delay >= deadline_)
        return {false, {}, RetryStop::deadline};
    return {true, delay, RetryStop::none};
}

} // namespace wix::inbox::detail
