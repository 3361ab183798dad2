// SPDX-License-Identifier: BSL-1.0
// The rate limiter's decisions with a fake clock: nothing here sleeps.
#define BOOST_TEST_MODULE rate_limiter
#include <boost/test/unit_test.hpp>

#include "rate_limiter.hpp"

#include <cmath>
#include <queue>
#include <random>
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

// The turn of a request asked at `now` that asks again whenever told, nothing else happening
// meanwhile: ready, or nothing if it would come after `deadline`.
std::optional<RateLimiter::Turn> goes(RateLimiter& l, Clock::time_point now, Clock::time_point deadline = never)
{
    auto turn = l.take(now, deadline);
    while (turn && !turn->ready)
        if (!l.check(*turn, turn->at, deadline))
            return std::nullopt;
    return turn;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_fixed_rate_spaces_turns_in_the_order_asked)
{
    RateLimiter l(RateLimitOptions::fixed(10, 3));
    std::vector<double> turns;
    for (int i = 0; i < 6; ++i) // six calls at once: a burst of three, then one every 100 ms
        turns.push_back(secondsAfter(goes(l, t0, never)->at));
    const std::vector<double> expected{0, 0, 0, 0.1, 0.2, 0.3};
    for (std::size_t i = 0; i < turns.size(); ++i)
        BOOST_TEST(turns[i] == expected[i], boost::test_tools::tolerance(1e-6));
    BOOST_TEST(l.stats().requestsPerSecond == 10.0);
    BOOST_TEST(l.stats().waitSeconds == 0.6, boost::test_tools::tolerance(1e-6));
    // After a quiet spell the burst is available again, and no more.
    const auto later = t0 + 10s;
    BOOST_TEST(secondsAfter(goes(l, later, never)->at, later) == 0.0);
    BOOST_TEST(secondsAfter(goes(l, later, never)->at, later) == 0.0);
    BOOST_TEST(secondsAfter(goes(l, later, never)->at, later) == 0.0);
    BOOST_TEST(secondsAfter(goes(l, later, never)->at, later) == 0.1, boost::test_tools::tolerance(1e-6));
}

// After a cut the bucket starts empty: the next request waits an interval at the new rate
// (the server has just said it has nothing left), the rest follow at the new pace.
BOOST_AUTO_TEST_CASE(no_burst_right_after_a_cut)
{
    RateLimiter l({});
    const auto at = answer(l, t0, 100, 1.0, true); // ~100/s, then throttled: 70/s, bursts of 70
    const double interval = 1.0 / l.stats().requestsPerSecond;
    BOOST_TEST(secondsAfter(goes(l, at, never)->at, at) == interval, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(secondsAfter(goes(l, at, never)->at, at) == 2 * interval, boost::test_tools::tolerance(1e-6));
}

// Waiting requests are not given times when they ask: a cut slows the whole queue at once,
// and a raise speeds it up, the head first.
BOOST_AUTO_TEST_CASE(a_cut_moves_every_waiting_turn)
{
    RateLimiter l({});
    const auto at = answer(l, t0, 100, 1.0, true);
    const double first = l.stats().requestsPerSecond;
    const auto interval = [](double rate) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / rate)); };
    std::vector<RateLimiter::Turn> queue;
    for (int i = 0; i < 10; ++i)
        queue.push_back(*l.take(at, never));
    BOOST_TEST(!queue.front().ready);
    l.onAnswer(at + 1ms, 0, true, std::nullopt); // a throttle of a request sent before the cut: no cut
    BOOST_TEST(l.stats().requestsPerSecond == first);
    auto head = queue.front();
    BOOST_TEST(l.check(head, at + interval(first), never));
    BOOST_TEST(head.ready);
    const auto cut = at + interval(first) + 1ms;
    l.onAnswer(cut, head.epoch, true, std::nullopt); // throttled at the new rate: cut again
    const double second = l.stats().requestsPerSecond;
    BOOST_TEST(second == first * RateLimiter::beta, boost::test_tools::tolerance(1e-6));
    // The next place, taken before the cut, waits one interval of the new rate after it.
    auto next = queue[1];
    BOOST_TEST(l.check(next, cut + interval(first), never));
    BOOST_TEST(!next.ready);
    BOOST_TEST(l.check(next, cut + interval(second), never));
    BOOST_TEST(next.ready);
}

// Only the head goes: a later place that asks first waits for the places before it, and a
// place given up lets the next one move up.
BOOST_AUTO_TEST_CASE(places_are_served_in_order_and_a_place_given_up_moves_the_queue_up)
{
    RateLimiter l(RateLimitOptions::fixed(10));
    BOOST_TEST(l.take(t0, never)->ready); // place 0 goes at once
    auto first = *l.take(t0, never);      // place 1: at +100 ms
    auto second = *l.take(t0, never);     // place 2: at +200 ms
    auto third = *l.take(t0, never);      // place 3: at +300 ms
    BOOST_TEST(secondsAfter(third.at) == 0.3, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(l.check(third, t0 + 400ms, never));
    BOOST_TEST(!third.ready); // places 1 and 2 have not gone
    l.leave(first);
    BOOST_TEST(l.check(second, t0 + 400ms, never));
    BOOST_TEST(second.ready);
    BOOST_TEST(l.check(third, t0 + 500ms, never));
    BOOST_TEST(third.ready);
    // A place whose turn moves past its deadline is given up by check().
    auto late = *l.take(t0 + 500ms, never);
    BOOST_TEST(!l.check(late, t0 + 500ms, t0 + 550ms));
    // The third went at +500 ms: the next turn is an interval later, less the lateness
    // forgiven to a waiter's timer.
    const double forgiven = std::chrono::duration<double>(RateLimiter::timerLateness).count();
    BOOST_TEST(secondsAfter(l.take(t0 + 500ms, never)->at) == 0.6 - forgiven, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(a_turn_after_the_deadline_is_refused_and_not_taken)
{
    RateLimiter l(RateLimitOptions::fixed(1));
    BOOST_TEST(goes(l, t0, never).has_value());
    BOOST_TEST(!goes(l, t0, t0 + 500ms).has_value()); // the next turn is at +1 s
    BOOST_TEST(secondsAfter(goes(l, t0, never)->at) == 1.0, boost::test_tools::tolerance(1e-6)); // still free
}

BOOST_AUTO_TEST_CASE(retry_after_holds_every_call_of_the_client)
{
    for (const auto mode : {RateLimitOptions::Mode::fixed, RateLimitOptions::Mode::adaptive}) {
        RateLimiter l({mode, mode == RateLimitOptions::Mode::fixed ? 1000.0 : 0.0, 1000});
        l.onAnswer(t0, 0, true, 3s);
        for (int i = 0; i < 3; ++i)
            BOOST_TEST(secondsAfter(goes(l, t0 + 1s, never)->at) >= 3.0);
        BOOST_TEST(!goes(l, t0 + 1s, t0 + 2s).has_value());
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
    BOOST_TEST(secondsAfter(goes(l, at + 19s, never)->at, at) >= 20.0);
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
    BOOST_TEST((goes(l, at, never)->at == at));
    at = answer(l, at, 100, 1.0, true); // the last one throttled
    BOOST_TEST(l.limiting());
    const double cut = l.stats().requestsPerSecond;
    BOOST_TEST(cut == 70.0, boost::test_tools::tolerance(0.05)); // beta 0.7 x ~100/s

    // Throttles of requests whose turns were given at the old rate are the same loss event.
    for (int i = 0; i < 50; ++i)
        l.onAnswer(at + 50ms, 0, true, std::nullopt);
    BOOST_TEST(l.stats().requestsPerSecond == cut, boost::test_tools::tolerance(1e-9));
    // A request given its turn at the new rate and throttled cuts again, from the enforced rate.
    const auto turn = goes(l, at + 60ms, never);
    l.onAnswer(at + 100ms, turn->epoch, true, std::nullopt);
    BOOST_TEST(l.stats().requestsPerSecond == cut * 0.7, boost::test_tools::tolerance(0.05));
    // Never below the floor.
    for (int i = 1; i <= 40; ++i)
        l.onAnswer(at + i * 3s, goes(l, at + i * 3s, never)->epoch, true, std::nullopt);
    BOOST_TEST(l.stats().requestsPerSecond == RateLimiter::minRate);
}

// The first throttle may come before a half-second window has closed: every answer so far
// counts, as if in one second (a job that starts against an exhausted limit sees only throttles).
BOOST_AUTO_TEST_CASE(a_throttle_in_the_first_burst_cuts_from_that_burst)
{
    RateLimiter l({});
    answer(l, t0 + 100ms, 200, 0.1, true); // 200 answers within 0.1 s, the last throttled
    BOOST_TEST(l.stats().requestsPerSecond == 0.7 * 200, boost::test_tools::tolerance(1e-6));
    RateLimiter exhausted({});
    for (int i = 0; i < 30; ++i)
        exhausted.onAnswer(t0, 0, true, std::nullopt);
    BOOST_TEST(exhausted.stats().requestsPerSecond == 0.7, boost::test_tools::tolerance(1e-6)); // the first of them
}

// From the second loss event on (the first says only that the server's bucket is empty).
BOOST_AUTO_TEST_CASE(adaptive_recovers_along_the_cubic_and_probes_beyond)
{
    RateLimiter l({});
    auto at = answer(l, t0, 500, 5.0, true); // ~100/s, then throttled: 70/s
    const double wmax = l.stats().requestsPerSecond;
    l.onAnswer(at, l.epoch(), true, std::nullopt); // throttled at 70/s: the second cut, from it
    const double k = std::cbrt(wmax * (1 - RateLimiter::beta) / RateLimiter::scale); // ~4.2 s
    // Answers keep coming at ~100/s (so the cap over the measured rate is not what binds).
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

// At a low rate recovery is counted in requests, not seconds: K is at least
// RateLimiter::recoveryRequests at Wmax, so that a probe past the limit is rare.
BOOST_AUTO_TEST_CASE(at_a_low_rate_recovery_takes_as_many_requests_as_at_a_high_one)
{
    RateLimiter l({});
    auto at = answer(l, t0, 50, 10.0, true); // ~5/s, then throttled: 3.5/s
    const double wmax = l.stats().requestsPerSecond;
    l.onAnswer(at, l.epoch(), true, std::nullopt); // the second cut, from 3.5/s
    const double k = RateLimiter::recoveryRequests / wmax; // ~34 s
    at = answer(l, at, static_cast<int>(5 * k / 2), k / 2);
    BOOST_TEST(l.stats().requestsPerSecond < wmax); // half way: still below Wmax
    BOOST_TEST(l.stats().requestsPerSecond > 0.9 * wmax);
    at = answer(l, at, static_cast<int>(5 * k / 2), k / 2);
    BOOST_TEST(l.stats().requestsPerSecond == wmax, boost::test_tools::tolerance(0.02));
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
    enum Kind { asks, checks, answered, throttled };
    struct Event {
        Clock::time_point at;
        std::uint64_t order; // events at the same time happen in the order they were made
        Kind kind;
        std::size_t caller;
        bool operator>(const Event& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
    };
    RateLimiter l({});
    std::vector<RateLimiter::Turn> turns(static_cast<std::size_t>(callers));
    Clock::time_point now = t0, refilled = t0;
    double tokens = limit;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
    std::uint64_t made = 0;
    const auto push = [&](Clock::time_point at, Kind kind, std::size_t caller) { events.push({at, made++, kind, caller}); };
    int started = 0, sent = 0, throttledCount = 0;
    for (; started < std::min(callers, lines); ++started)
        push(now, asks, static_cast<std::size_t>(started));
    while (!events.empty()) {
        const Event e = events.top();
        events.pop();
        now = e.at;
        auto& turn = turns[e.caller];
        if (e.kind == asks || e.kind == checks) {
            if (e.kind == asks)
                turn = *l.take(now, never);
            else
                l.check(turn, now, never);
            if (!turn.ready) {
                push(turn.at, checks, e.caller);
                continue;
            }
            tokens = std::min(limit, tokens + limit / periodSeconds * secondsAfter(now, refilled));
            refilled = now;
            const bool admitted = tokens >= 1;
            tokens -= admitted ? 1 : 0;
            ++sent;
            push(now + 2ms, admitted ? answered : throttled, e.caller);
        } else {
            l.onAnswer(now, turn.epoch, e.kind == throttled, std::nullopt);
            throttledCount += e.kind == throttled ? 1 : 0;
            if (e.kind == throttled || started++ < lines)
                push(now, asks, e.caller);
        }
    }
    return {lines / secondsAfter(now), static_cast<double>(throttledCount) / sent};
}

} // namespace

// Issue 15's targets for a batch with default settings, simulated: at least 0.9 of the limit,
// at most 5% of requests throttled. The first burst meets a full server bucket and the
// requests in flight when it empties are all throttled (about one per caller): the share is
// measured over 3,000 lines, as at 100/s. Many callers change the start, not the outcome.
BOOST_AUTO_TEST_CASE(adaptive_batches_reach_the_limit_in_simulation)
{
    for (const auto& [limit, period, lines, callers] :
         {std::tuple{100.0, 1.0, 3000, 64}, std::tuple{1000.0, 1.0, 20000, 64}, std::tuple{20.0, 1.0, 3000, 64},
          std::tuple{200.0, 60.0, 3000, 64}, std::tuple{200.0, 60.0, 3000, 256}, std::tuple{100.0, 1.0, 6000, 256}}) {
        const auto r = simulate(limit, period, lines, callers);
        BOOST_TEST(r.linesPerSecond >= 0.9 * limit / period, limit << "/" << period << "s: " << r.linesPerSecond);
        BOOST_TEST(r.throttledShare <= 0.05, limit << "/" << period << "s: " << r.throttledShare);
    }
}

namespace {

// Tenants (one RateLimiter each, as forTenant Clients) whose calls arrive at a steady pace,
// `arrivals` per second each, for `seconds`, against a server that admits `limit` requests per
// `periodSeconds` per tenant from a bucket already empty at the start (a busy minute before),
// answering in 2 ms; a throttled call asks for a new turn at once. The replies per second
// over the run, including its start, and the share of requests throttled.
Simulated simulateTenants(int tenants, double limit, double periodSeconds, double arrivals, double seconds)
{
    enum Kind { arrives, checks, answered, throttled };
    struct Event {
        Clock::time_point at;
        std::uint64_t order;
        Kind kind;
        std::size_t call;
        bool operator>(const Event& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
    };
    struct Tenant {
        RateLimiter limiter{RateLimitOptions{}};
        double tokens = 0;
        Clock::time_point refilled = t0;
    };
    std::vector<Tenant> sites(static_cast<std::size_t>(tenants));
    std::vector<std::pair<std::size_t, RateLimiter::Turn>> calls; // tenant, turn
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
    std::uint64_t made = 0;
    const auto push = [&](Clock::time_point at, Kind kind, std::size_t call) { events.push({at, made++, kind, call}); };
    const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    for (int site = 0; site < tenants; ++site)
        for (double at = static_cast<double>(site) / tenants / arrivals; at < seconds; at += 1 / arrivals) {
            calls.emplace_back(static_cast<std::size_t>(site), RateLimiter::Turn{});
            push(t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at)), arrives,
                 calls.size() - 1);
        }
    int admittedInRun = 0, sent = 0, throttledCount = 0;
    while (!events.empty() && events.top().at < end) {
        const Event e = events.top();
        events.pop();
        auto& [site, turn] = calls[e.call];
        auto& s = sites[site];
        if (e.kind == arrives || e.kind == checks) {
            if (e.kind == arrives)
                turn = *s.limiter.take(e.at, never);
            else
                s.limiter.check(turn, e.at, never);
            if (!turn.ready) {
                push(turn.at, checks, e.call);
                continue;
            }
            s.tokens = std::min(limit, s.tokens + limit / periodSeconds * secondsAfter(e.at, s.refilled));
            s.refilled = e.at;
            const bool admitted = s.tokens >= 1;
            s.tokens -= admitted ? 1 : 0;
            ++sent;
            push(e.at + 2ms, admitted ? answered : throttled, e.call);
        } else {
            s.limiter.onAnswer(e.at, turn.epoch, e.kind == throttled, std::nullopt);
            throttledCount += e.kind == throttled ? 1 : 0;
            admittedInRun += e.kind == answered ? 1 : 0;
            if (e.kind == throttled)
                push(e.at, arrives, e.call);
        }
    }
    return {admittedInRun / seconds, static_cast<double>(throttledCount) / std::max(1, sent)};
}

} // namespace

// Sites whose server buckets are already empty at the start, their messages arriving at a
// steady pace: over 1.2 times their limit, the replies reach 0.9 of the limits' aggregate;
// under it (0.8), 0.9 of the arrivals. The first throttle comes when a site has sent a
// request or two: its rate then says nothing of the server's.
BOOST_AUTO_TEST_CASE(adaptive_sites_starting_on_an_empty_bucket_reach_the_limit_in_simulation)
{
    const double limit = 200.0 / 60;
    for (const double load : {1.2, 0.8}) {
        const auto r = simulateTenants(100, 200.0, 60.0, load * limit, 120);
        BOOST_TEST_MESSAGE(load << "x: " << r.linesPerSecond / (100 * limit) << " of the limits, "
                                << r.throttledShare << " throttled");
        BOOST_TEST(r.linesPerSecond >= 0.9 * 100 * std::min(1.0, load) * limit, load << "x: " << r.linesPerSecond);
        BOOST_TEST(r.throttledShare <= 0.05, load << "x: " << r.throttledShare);
    }
}

// A 503 naming its wait delays the call that got it (its retry waits), and no other: a few
// of them hold no one, whatever the mode.
BOOST_AUTO_TEST_CASE(a_few_503s_with_retry_after_hold_no_other_call)
{
    for (const auto options : {RateLimitOptions{}, RateLimitOptions::fixed(1000, 1000)}) {
        RateLimiter l(options);
        auto at = t0;
        for (int round = 0; round < 10; ++round) {
            for (int i = 1; i < RateLimiter::outageAnswers; ++i)
                l.onUnavailable(at, 1s);
            l.onAnswer(at, l.epoch(), false, std::nullopt); // a success between: no outage
            BOOST_TEST(secondsAfter(goes(l, at)->at, at) == 0.0);
            at += 10ms;
        }
        BOOST_TEST(l.stats().waitSeconds == 0.0);
    }
}

// 503s in a row, no other answer between, are an outage: everyone is held until the
// Retry-After, then one request (a probe) goes per Retry-After; its success ends it.
BOOST_AUTO_TEST_CASE(an_outage_holds_the_client_to_one_probe_per_retry_after)
{
    for (const auto options : {RateLimitOptions{}, RateLimitOptions::fixed(1000, 1000)}) {
        RateLimiter l(options);
        for (int i = 0; i < RateLimiter::outageAnswers; ++i)
            l.onUnavailable(t0, 2s);
        BOOST_TEST(l.limiting());
        std::vector<RateLimiter::Turn> waiting;
        for (int i = 0; i < 10; ++i)
            waiting.push_back(*l.take(t0, never));
        // Everyone asks again whenever told, until 10 s; each probe gets another 503.
        std::vector<double> probes;
        for (auto now = t0; now < t0 + 10s; now += 1ms) {
            for (auto& turn : waiting) {
                if (turn.ready || turn.at > now)
                    continue;
                BOOST_REQUIRE(l.check(turn, now, never));
                if (turn.ready) {
                    probes.push_back(secondsAfter(now));
                    l.onUnavailable(now + 5ms, 2s);
                }
            }
        }
        BOOST_TEST(probes.size() == 4u); // at +2 s, then one each Retry-After from the last 503
        for (std::size_t i = 0; i < probes.size(); ++i)
            BOOST_TEST(probes[i] == 2.0 + 2.005 * static_cast<double>(i), boost::test_tools::tolerance(0.002));
        // An answer that is not a 503 ends the outage: the calls held go when they ask again.
        const auto back = t0 + 10s;
        l.onAnswer(back, l.epoch(), false, std::nullopt);
        int went = 0;
        for (auto& turn : waiting)
            if (!turn.ready && l.check(turn, std::max(back, turn.at), never) && turn.ready)
                ++went;
        BOOST_TEST(went >= 5); // every one in adaptive mode; in fixed mode, its burst of 1000
        BOOST_TEST(secondsAfter(goes(l, back + 1s)->at, back + 1s) == 0.0);
    }
}

namespace {

// `callers` calls at a time run `lines` calls against a server answering in 2 ms, each
// answer a 503 with Retry-After: 1 with probability `unavailable` (seeded: deterministic),
// or every answer in [downFrom, downUntil) from t0. A call that gets a 503 waits its
// Retry-After, then asks for a new turn. Events on a fake clock.
struct Unavailable {
    double linesPerSecond;
    int sentWhileDown; // requests sent in [downFrom + 1 s, downUntil)
    double waitSeconds;
};
Unavailable simulateUnavailable(int callers, int lines, double unavailable, Clock::duration downFrom,
                                Clock::duration downUntil)
{
    enum Kind { asks, checks, answered };
    struct Event {
        Clock::time_point at;
        std::uint64_t order;
        Kind kind;
        std::size_t caller;
        bool operator>(const Event& o) const { return std::tie(at, order) > std::tie(o.at, o.order); }
    };
    RateLimiter l({});
    std::mt19937 random(1);
    std::bernoulli_distribution fault(unavailable);
    std::vector<RateLimiter::Turn> turns(static_cast<std::size_t>(callers));
    std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
    std::uint64_t made = 0;
    const auto push = [&](Clock::time_point at, Kind kind, std::size_t caller) { events.push({at, made++, kind, caller}); };
    int started = 0, done = 0, sentWhileDown = 0;
    for (; started < std::min(callers, lines); ++started)
        push(t0, asks, static_cast<std::size_t>(started));
    Clock::time_point now = t0;
    while (!events.empty()) {
        const Event e = events.top();
        events.pop();
        now = e.at;
        auto& turn = turns[e.caller];
        const bool down = now >= t0 + downFrom && now < t0 + downUntil;
        if (e.kind == asks || e.kind == checks) {
            if (e.kind == asks)
                turn = *l.take(now, never);
            else
                l.check(turn, now, never);
            if (turn.ready) {
                sentWhileDown += now >= t0 + downFrom + 1s && down ? 1 : 0;
                push(now + 2ms, answered, e.caller);
            } else {
                push(turn.at, checks, e.caller);
            }
        } else if (down || fault(random)) {
            l.onUnavailable(now, 1s);
            push(now + 1s, asks, e.caller);
        } else {
            l.onAnswer(now, turn.epoch, false, std::nullopt);
            ++done;
            if (started++ < lines)
                push(now, asks, e.caller);
        }
    }
    return {done / secondsAfter(now), sentWhileDown, l.stats().waitSeconds};
}

} // namespace

// 5% of answers 503 with Retry-After: 1 s at random: no call waits for another's 503, and a
// batch of 32 callers goes at 32 / (2 ms + 5% of 1 s), ~600 lines/s.
BOOST_AUTO_TEST_CASE(random_503s_hold_no_one_in_simulation)
{
    const auto r = simulateUnavailable(32, 20000, 0.05, 0s, 0s);
    BOOST_TEST(r.waitSeconds == 0.0);
    BOOST_TEST(r.linesPerSecond >= 500.0);
}

// Down for 20 s: 32 callers send about one request per Retry-After, then all resume.
BOOST_AUTO_TEST_CASE(an_outage_gets_one_request_per_retry_after_in_simulation)
{
    const auto r = simulateUnavailable(32, 100000, 0.0, 500ms, 20500ms);
    BOOST_TEST(r.sentWhileDown <= 20, r.sentWhileDown);
    BOOST_TEST(r.sentWhileDown >= 15, r.sentWhileDown); // it probes
    BOOST_TEST(r.linesPerSecond >= 100000 / 30.0); // 20 s down, ~100000 / (32 / 2 ms) s up
}
