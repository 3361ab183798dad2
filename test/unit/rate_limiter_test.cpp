// The rate limiter's decisions with a fake clock: nothing here sleeps.
#define BOOST_TEST_MODULE rate_limiter
#include <boost/test/unit_test.hpp>

#include "rate_limiter.hpp"

#include <cmath>
#include <queue>
#include <tuple>
#include <vector>

using namespace wix::inbox;
using namespace wix::inbox::detail;
using namespace std::chrono_literals;

namespace {

const Clock::time_point t0 = Clock::time_point{} + 1000h;
const Clock::time_point never = Clock::time_point::max();

double secondsAfter(Clock::time_point t, Clock::time_point from = t0)
{
    return std::chrono::duration<double>(t - from).count();
}

// `n` answers spread evenly over `seconds` from `from`, the last one throttled if asked.
Clock::time_point answer(RateLimiter& l, Clock::time_point from, int n, double seconds, bool throttleLast = false)
{
    Clock::time_point at = from;
    for (int i = 1; i <= n; ++i) {
        at = from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds * i / n));
        l.onAnswer(at, l.epoch(), throttleLast && i == n, std::nullopt);
    }
    return at;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_fixed_rate_spaces_turns_in_the_order_asked)
{
    RateLimiter l(RateLimitOptions::fixed(10, 3));
    std::vector<double> turns;
    for (int i = 0; i < 6; ++i) // six calls at once: a burst of three, then one every 100 ms
        turns.push_back(secondsAfter(l.reserve(t0, never)->at));
    const std::vector<double> expected{0, 0, 0, 0.1, 0.2, 0.3};
    for (std::size_t i = 0; i < turns.size(); ++i)
        BOOST_TEST(turns[i] == expected[i], boost::test_tools::tolerance(1e-6));
    BOOST_TEST(l.stats().requestsPerSecond == 10.0);
    BOOST_TEST(l.stats().waitSeconds == 0.6, boost::test_tools::tolerance(1e-6));
    // After a quiet spell the burst is available again, and no more.
    const auto later = t0 + 10s;
    BOOST_TEST(secondsAfter(l.reserve(later, never)->at, later) == 0.0);
    BOOST_TEST(secondsAfter(l.reserve(later, never)->at, later) == 0.0);
    BOOST_TEST(secondsAfter(l.reserve(later, never)->at, later) == 0.0);
    BOOST_TEST(secondsAfter(l.reserve(later, never)->at, later) == 0.1, boost::test_tools::tolerance(1e-6));
}

// After a cut the bucket starts empty: the next requests go at the new pace, not in a burst.
BOOST_AUTO_TEST_CASE(no_burst_right_after_a_cut)
{
    RateLimiter l({});
    const auto at = answer(l, t0, 100, 1.0, true); // ~100/s, then throttled: 70/s, bursts of 70
    const double interval = 1.0 / l.stats().requestsPerSecond;
    BOOST_TEST(secondsAfter(l.reserve(at, never)->at, at) == 0.0);
    BOOST_TEST(secondsAfter(l.reserve(at, never)->at, at) == interval, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(a_turn_after_the_deadline_is_refused_and_not_taken)
{
    RateLimiter l(RateLimitOptions::fixed(1));
    BOOST_TEST(l.reserve(t0, never).has_value());
    BOOST_TEST(!l.reserve(t0, t0 + 500ms).has_value()); // the next turn is at +1 s
    BOOST_TEST(secondsAfter(l.reserve(t0, never)->at) == 1.0, boost::test_tools::tolerance(1e-6)); // still free
}

BOOST_AUTO_TEST_CASE(retry_after_holds_every_call_of_the_client)
{
    for (const auto mode : {RateLimitOptions::Mode::fixed, RateLimitOptions::Mode::adaptive}) {
        RateLimiter l({mode, mode == RateLimitOptions::Mode::fixed ? 1000.0 : 0.0, 1000});
        l.onAnswer(t0, 0, true, 3s);
        for (int i = 0; i < 3; ++i)
            BOOST_TEST(secondsAfter(l.reserve(t0 + 1s, never)->at) >= 3.0);
        BOOST_TEST(!l.reserve(t0 + 1s, t0 + 2s).has_value());
    }
}

// The server named its wait: the hold obeys it, and adaptive mode does not also cut its rate
// (a server throttling a share of requests with Retry-After would drive it to the floor).
BOOST_AUTO_TEST_CASE(a_throttle_with_retry_after_holds_but_does_not_cut)
{
    RateLimiter l({});
    auto at = answer(l, t0, 400, 4.0);
    for (int i = 0; i < 20; ++i)
        l.onAnswer(at + i * 1s, l.epoch(), true, 1s);
    BOOST_TEST(l.stats().requestsPerSecond == 0.0); // no rate enforced, only holds
    BOOST_TEST(secondsAfter(l.reserve(at + 19s, never)->at, at) >= 20.0);
    l.onAnswer(at + 21s, l.epoch(), true, std::nullopt); // one without: now it adapts
    BOOST_TEST(l.stats().requestsPerSecond > 0.0);
}

BOOST_AUTO_TEST_CASE(off_never_limits)
{
    RateLimiter l(RateLimitOptions::off());
    l.onAnswer(t0, 0, true, 10s);
    BOOST_TEST(!l.limiting());
    BOOST_TEST(l.stats().requestsPerSecond == 0.0);
}

BOOST_AUTO_TEST_CASE(adaptive_is_free_until_throttled_then_cuts_to_beta_of_the_measured_rate)
{
    RateLimiter l({});
    auto at = answer(l, t0, 400, 4.0); // 100 answers/s, all fine
    BOOST_TEST(!l.limiting());
    BOOST_TEST((l.reserve(at, never)->at == at));
    at = answer(l, at, 100, 1.0, true); // the last one throttled
    BOOST_TEST(l.limiting());
    const double cut = l.stats().requestsPerSecond;
    BOOST_TEST(cut == 70.0, boost::test_tools::tolerance(0.05)); // beta 0.7 x ~100/s

    // Throttles of requests whose turns were given at the old rate are the same loss event.
    for (int i = 0; i < 50; ++i)
        l.onAnswer(at + 50ms, 0, true, std::nullopt);
    BOOST_TEST(l.stats().requestsPerSecond == cut, boost::test_tools::tolerance(1e-9));
    // A request given its turn at the new rate and throttled cuts again, from the enforced rate.
    const auto turn = l.reserve(at + 60ms, never);
    l.onAnswer(at + 100ms, turn->epoch, true, std::nullopt);
    BOOST_TEST(l.stats().requestsPerSecond == cut * 0.7, boost::test_tools::tolerance(0.05));
    // Never below the floor.
    for (int i = 1; i <= 40; ++i)
        l.onAnswer(at + i * 3s, l.reserve(at + i * 3s, never)->epoch, true, std::nullopt);
    BOOST_TEST(l.stats().requestsPerSecond == RateLimiter::minRate);
}

// The first throttle may come before a half-second window has closed: the open one counts.
BOOST_AUTO_TEST_CASE(a_throttle_in_the_first_burst_cuts_from_that_burst)
{
    RateLimiter l({});
    answer(l, t0 + 100ms, 200, 0.1, true); // 200 answers within 0.1 s, the last throttled
    BOOST_TEST(l.stats().requestsPerSecond >= 200.0, l.stats().requestsPerSecond);
}

BOOST_AUTO_TEST_CASE(adaptive_recovers_along_the_cubic_and_probes_beyond)
{
    RateLimiter l({});
    auto at = answer(l, t0, 500, 5.0, true); // ~100/s, then throttled
    const double wmax = 100.0;
    const double k = std::cbrt(wmax * (1 - RateLimiter::beta) / RateLimiter::scale); // ~4.2 s
    // Answers keep coming at ~100/s (so the cap of twice the measured rate is not what binds).
    at = answer(l, at, static_cast<int>(100 * k), k);
    BOOST_TEST(l.stats().requestsPerSecond == wmax, boost::test_tools::tolerance(0.08)); // back at Wmax after K
    at = answer(l, at, 100, 1.0);
    BOOST_TEST(l.stats().requestsPerSecond > wmax); // then probing above it
}

BOOST_AUTO_TEST_CASE(an_adaptive_ceiling_is_never_passed)
{
    RateLimiter l({RateLimitOptions::Mode::adaptive, 20, 1});
    auto at = answer(l, t0, 500, 5.0, true);
    at = answer(l, at, 2000, 20.0);
    BOOST_TEST(l.stats().requestsPerSecond == 20.0);
}

// Far above the server's limit, a cut goes to twice the admitted rate at most.
BOOST_AUTO_TEST_CASE(a_rate_far_above_what_is_admitted_is_cut_to_near_it)
{
    RateLimiter l({});
    auto at = answer(l, t0, 500, 1.0, true); // ~500/s, then throttled: 350/s
    at = answer(l, at, 10, 2.0);             // the server now admits ~5/s
    l.onAnswer(at + 1ms, l.reserve(at, never)->epoch, true, std::nullopt);
    BOOST_TEST(l.stats().requestsPerSecond < 60.0, l.stats().requestsPerSecond);
}

namespace {

struct Simulated {
    double linesPerSecond;
    double throttledShare; // of the requests sent
};

// A batch of `lines` calls, `callers` at a time, against a server that admits `limit`
// requests per `period` as a token bucket (full at the start), answering in 2 ms. Every
// throttled call asks for a new turn. Events on a fake clock: deterministic and instant.
Simulated simulate(double limit, double periodSeconds, int lines, int callers = 64)
{
    struct Event {
        Clock::time_point at;
        int kind; // 0: asks for a turn, 1: sends, 2: answered, 3: throttled
        std::uint64_t epoch;
        bool operator>(const Event& o) const { return at > o.at; }
    };
    RateLimiter l({});
    Clock::time_point now = t0, refilled = t0;
    double tokens = limit;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
    int started = 0, sent = 0, throttled = 0;
    for (; started < std::min(callers, lines); ++started)
        events.push({now, 0, 0});
    while (!events.empty()) {
        const Event e = events.top();
        events.pop();
        now = e.at;
        if (e.kind == 0) {
            const auto turn = l.reserve(now, never);
            events.push({turn->at, 1, turn->epoch});
        } else if (e.kind == 1) {
            tokens = std::min(limit, tokens + limit / periodSeconds * secondsAfter(now, refilled));
            refilled = now;
            const bool admitted = tokens >= 1;
            tokens -= admitted ? 1 : 0;
            ++sent;
            events.push({now + 2ms, admitted ? 2 : 3, e.epoch});
        } else {
            l.onAnswer(now, e.epoch, e.kind == 3, std::nullopt);
            throttled += e.kind == 3 ? 1 : 0;
            if (e.kind == 3 || started++ < lines)
                events.push({now, 0, 0});
        }
    }
    return {lines / secondsAfter(now), static_cast<double>(throttled) / sent};
}

} // namespace

// Issue 15's targets for a batch with default settings, simulated: at least 0.9 of the limit.
// At 100/s and above, at most 5% of requests throttled as well; at 200/min the share is
// higher (13-17%: the first burst is admitted by a full bucket and the descent from it is
// slow), which the README reports from the real bench.
BOOST_AUTO_TEST_CASE(adaptive_batches_reach_the_limit_in_simulation)
{
    for (const auto& [limit, period, lines] : {std::tuple{100.0, 1.0, 3000}, std::tuple{1000.0, 1.0, 20000},
                                              std::tuple{200.0, 60.0, 3000}}) {
        const auto r = simulate(limit, period, lines);
        BOOST_TEST(r.linesPerSecond >= 0.9 * limit / period, limit << "/" << period << "s: " << r.linesPerSecond);
        if (period == 1.0)
            BOOST_TEST(r.throttledShare <= 0.05, limit << "/s: " << r.throttledShare);
    }
}
