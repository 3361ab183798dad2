// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE retry
#include <boost/test/unit_test.hpp>

#include "retry.hpp"

#include <cmath>

using namespace wix::inbox;
using namespace wix::inbox::detail;
using namespace std::chrono_literals;

namespace {

Error httpError(int status)
{
    Error e;
    e.code = make_error_code(Errc::httpStatus);
    e.httpStatus = status;
    return e;
}

Error error503()
{
    return httpError(503);
}

Error transportError(Errc c)
{
    Error e;
    e.code = make_error_code(c);
    return e;
}

const Clock::time_point t0{};

} // namespace

BOOST_AUTO_TEST_CASE(transient_classification)
{
    for (int s : {429, 500, 502, 503, 504})
        BOOST_TEST(isTransient(httpError(s)), s);
    for (int s : {400, 401, 403, 404, 409, 428, 501})
        BOOST_TEST(!isTransient(httpError(s)), s);
    for (auto c : {Errc::connectFailed, Errc::resolveFailed, Errc::connectionClosed, Errc::timeout})
        BOOST_TEST(isTransient(transportError(c)));
    for (auto c : {Errc::decodeError, Errc::tlsHandshakeFailed, Errc::protocolError, Errc::responseTooLarge,
                   Errc::invalidArgument, Errc::cancelled, Errc::poolAcquireTimeout})
        BOOST_TEST(!isTransient(transportError(c)));
}

BOOST_AUTO_TEST_CASE(retry_after_both_forms)
{
    const auto now = std::chrono::system_clock::from_time_t(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
    BOOST_TEST(parseRetryAfter("120", now)->count() == 120000);
    BOOST_TEST(parseRetryAfter(" 0 ", now)->count() == 0);
    BOOST_TEST(parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now)->count() == 10000);
    BOOST_TEST(parseRetryAfter("Sunday, 06-Nov-94 08:49:47 GMT", now)->count() == 10000);
    BOOST_TEST(parseRetryAfter("Sun Nov  6 08:49:47 1994", now)->count() == 10000);
    BOOST_TEST(parseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now)->count() == 0); // in the past
    BOOST_TEST(parseRetryAfter("99999999999999999999999", now)->count() == 365LL * 24 * 3600 * 1000);
    // Found by fuzzing: absurd years must not overflow the clock arithmetic.
    BOOST_TEST(!parseRetryAfter("Sun, 06 Nov 99999 08:49:47 GMT", now).has_value());
    BOOST_TEST(!parseRetryAfter("Sun, 06 Nov -1958 08:49:47 GMT", now).has_value());
    BOOST_TEST(parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now)->count() == 365LL * 24 * 3600 * 1000);
    for (const char* bad : {"", "-1", "1.5", "soon", "Sun, 06 Nov 1994", "Sun, 06 Nov 1994 08:49:47 GMT trailing"})
        BOOST_TEST(!parseRetryAfter(bad, now).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(backoff_draws_lie_in_jitter_windows_above_a_floor)
{
    RetryBudget budget({0, 0.1});
    const BackoffPolicy backoff{100ms, 2.0, 1000ms};
    for (double u : {0.0, 0.5, 0.999}) {
        RetryState state({10, 0ms}, backoff, true, t0, t0 + 1h);
        const auto error = httpError(503);
        std::vector<double> expectedWindows{100, 200, 400, 800, 1000, 1000};
        for (double window : expectedWindows) {
            state.startAttempt();
            const auto d = state.onFailure({error, true, std::nullopt}, t0, budget, u);
            BOOST_REQUIRE(d.retry);
            BOOST_TEST(d.delay.count() == static_cast<std::int64_t>(std::ceil(50 + (window - 50) * u)));
        }
    }
    // Even the shortest initial delay gives a pause.
    RetryState shortest({2, 0ms}, {1ms, 2.0, 1ms}, true, t0, t0 + 1h);
    shortest.startAttempt();
    BOOST_TEST(shortest.onFailure({error503(), true, std::nullopt}, t0, budget, 0.0).delay.count() == 1);
}

// A Retry-After that asks for no wait, or a shorter one than the backoff's, gets the
// backoff's: no retry is ever sent without a pause.
BOOST_AUTO_TEST_CASE(a_retry_after_of_zero_or_in_the_past_still_waits_the_backoff)
{
    RetryBudget budget({0, 0.1});
    const BackoffPolicy backoff{100ms, 2.0, 5s};
    const auto now = std::chrono::system_clock::from_time_t(784111777);
    for (const char* value : {"0", "Sun, 06 Nov 1994 08:00:00 GMT"}) {
        for (double u : {0.0, 0.999}) {
            RetryState state({4, 0ms}, backoff, true, t0, t0 + 30s);
            state.startAttempt();
            const auto d = state.onFailure({httpError(429), false, parseRetryAfter(value, now)}, t0, budget, u);
            BOOST_REQUIRE(d.retry);
            BOOST_TEST(d.delay.count() >= 50, value);
            BOOST_TEST(d.delay.count() == static_cast<std::int64_t>(std::ceil(50 + 50 * u)), value);
        }
    }
    // A negative Retry-After is malformed: the backoff alone decides.
    BOOST_TEST(!parseRetryAfter("-5", now).has_value());
    // A Retry-After shorter than the draw gives the draw.
    RetryState state({4, 0ms}, backoff, true, t0, t0 + 30s);
    state.startAttempt();
    BOOST_TEST(state.onFailure({httpError(503), true, 10ms}, t0, budget, 0.999).delay.count() == 100);
}

BOOST_AUTO_TEST_CASE(attempts_time_limit_and_deadline_stop_retries)
{
    RetryBudget budget({0, 0.1});
    const auto error = transportError(Errc::connectionClosed);
    RetryState attempts({3, 0ms}, {}, true, t0, t0 + 1h);
    attempts.startAttempt();
    BOOST_TEST(attempts.onFailure({error, false, std::nullopt}, t0, budget, 0.5).retry);
    attempts.startAttempt();
    BOOST_TEST(attempts.onFailure({error, false, std::nullopt}, t0, budget, 0.5).retry);
    attempts.startAttempt();
    const auto third = attempts.onFailure({error, false, std::nullopt}, t0, budget, 0.5);
    BOOST_TEST(!third.retry);
    BOOST_TEST(third.stop == RetryStop::attemptsExhausted);

    RetryState timeLimited({100, 2s}, {}, true, t0, t0 + 1h);
    timeLimited.startAttempt();
    BOOST_TEST(timeLimited.onFailure({error, false, std::nullopt}, t0 + 1s, budget, 0.5).retry);
    timeLimited.startAttempt();
    BOOST_TEST(timeLimited.onFailure({error, false, std::nullopt}, t0 + 2s, budget, 0.5).stop == RetryStop::timeLimit);

    // A sleep that would end past the deadline is not started.
    RetryState deadline({100, 0ms}, {1000ms, 2.0, 5000ms}, true, t0, t0 + 1500ms);
    deadline.startAttempt();
    BOOST_TEST(deadline.onFailure({error, false, std::nullopt}, t0 + 1000ms, budget, 0.9).stop == RetryStop::deadline);
    RetryState past({100, 0ms}, {}, true, t0, t0 + 1s);
    past.startAttempt();
    BOOST_TEST(past.onFailure({error, false, std::nullopt}, t0 + 1s, budget, 0.0).stop == RetryStop::deadline);
}

BOOST_AUTO_TEST_CASE(permanent_and_non_idempotent_failures)
{
    RetryBudget budget({0, 0.1});
    RetryState state({5, 0ms}, {}, false, t0, t0 + 1h);
    state.startAttempt();
    for (int s : {400, 401, 403, 404, 409})
        BOOST_TEST(state.onFailure({httpError(s), true, std::nullopt}, t0, budget, 0.5).stop == RetryStop::notRetryable);
    // Non-idempotent: a failure after sending is final, one before sending is retried.
    BOOST_TEST(state.onFailure({httpError(503), true, std::nullopt}, t0, budget, 0.5).stop == RetryStop::notIdempotent);
    BOOST_TEST(state.onFailure({transportError(Errc::connectFailed), false, std::nullopt}, t0, budget, 0.5).retry);
}

BOOST_AUTO_TEST_CASE(retry_after_is_obeyed_clamped_and_checked_against_the_deadline)
{
    RetryBudget budget({0, 0.1});
    const BackoffPolicy backoff{100ms, 2.0, 5s};
    RetryState state({10, 0ms}, backoff, true, t0, t0 + 30s);
    state.startAttempt();
    auto d = state.onFailure({httpError(429), true, 2s}, t0, budget, 0.0);
    BOOST_TEST(d.retry);
    BOOST_TEST(d.delay.count() == 2000); // the server's wish, not the jitter draw
    state.startAttempt();
    d = state.onFailure({httpError(503), true, 20s}, t0, budget, 0.0);
    BOOST_TEST(d.retry);
    BOOST_TEST(d.delay.count() == 5000); // clamped to maxDelay
    state.startAttempt();
    d = state.onFailure({httpError(503), true, 60s}, t0, budget, 0.0);
    BOOST_TEST(!d.retry);
    BOOST_TEST(d.stop == RetryStop::retryAfterTooLong); // fail now rather than sleep past the deadline
}

BOOST_AUTO_TEST_CASE(budget_stops_retries_below_half_and_recovers)
{
    RetryBudget budget({10, 0.5});
    BOOST_TEST(budget.allowsRetry());
    for (int i = 0; i < 5; ++i)
        budget.onFailure();
    BOOST_TEST(budget.tokens() == 5.0);
    BOOST_TEST(!budget.allowsRetry()); // at half: throttled
    RetryState state({10, 0ms}, {}, true, t0, t0 + 1h);
    state.startAttempt();
    BOOST_TEST(state.onFailure({httpError(503), true, std::nullopt}, t0, budget, 0.5).stop == RetryStop::budgetExhausted);
    for (int i = 0; i < 4; ++i)
        budget.onSuccess();
    BOOST_TEST(budget.tokens() == 6.0); // the throttled failure took one, four successes gave two
    BOOST_TEST(budget.allowsRetry());
    for (int i = 0; i < 100; ++i)
        budget.onSuccess();
    BOOST_TEST(budget.tokens() == 10.0); // capped
    for (int i = 0; i < 100; ++i)
        budget.onFailure();
    BOOST_TEST(budget.tokens() == 0.0); // floored
}

// A server asking for patience is not a failure of the budget's kind: throttles the rate
// limiter slows down for take no token. They do use attempts: maxAttempts bounds the
// requests of a call, so that a server throttling at once (Retry-After: 0) is not asked
// again and again until the deadline.
BOOST_AUTO_TEST_CASE(throttles_the_rate_limiter_handles_use_attempts_but_no_budget)
{
    RetryPolicy policy;
    policy.maxAttempts = 3;
    RetryBudget budget({10, 0.1});
    const auto start = Clock::time_point{} + std::chrono::hours(1);
    RetryState state(policy, BackoffPolicy{}, true, start, start + std::chrono::seconds(30));
    Error throttled = makeError(Errc::httpStatus, "slow down");
    throttled.httpStatus = 429;
    for (int i = 0; i < 2; ++i) {
        state.startAttempt();
        const auto d = state.onFailure({throttled, false, 0ms, true}, start + std::chrono::seconds(i), budget, 0.5);
        BOOST_TEST(d.retry, i);
    }
    state.startAttempt();
    const auto last = state.onFailure({throttled, false, 0ms, true}, start + std::chrono::seconds(2), budget, 0.5);
    BOOST_TEST(!last.retry);
    BOOST_TEST(last.stop == RetryStop::attemptsExhausted);
    BOOST_TEST(state.attempts() == 3);
    BOOST_TEST(budget.tokens() == 10.0);
    // The deadline ends throttles too.
    RetryState late(policy, BackoffPolicy{}, true, start, start + std::chrono::seconds(30));
    late.startAttempt();
    BOOST_TEST(late.onFailure({throttled, true, std::nullopt, true}, start + std::chrono::seconds(30), budget, 0.5).stop
               == RetryStop::deadline);
}
