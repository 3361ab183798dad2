// SPDX-License-Identifier: BSL-1.0
// The client's rate limiter against the emulator's per-tenant limit, over real TLS.
#define BOOST_TEST_MODULE rate_limit
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>

using namespace wix::inbox;
using namespace std::chrono_literals;
using namespace boost::asio::experimental::awaitable_operators;
using emulator::Emulator;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

emulator::Options limitedTo(double perSecond, bool retryAfter = false)
{
    emulator::Options o;
    o.faults.rateLimit = perSecond;
    o.faults.rateLimitRetryAfter = retryAfter;
    return o;
}

std::uint64_t throttledBy(const Emulator& e)
{
    const auto t = e.stats().throttledByTenant;
    return t.empty() ? 0 : t.begin()->second;
}

} // namespace

// A client told the service's limit stays under it: no call is throttled.
BOOST_AUTO_TEST_CASE(a_fixed_rate_at_the_limit_is_not_throttled)
{
    Emulator emu(limitedTo(50));
    net::io_context ioc;
    auto o = test::optionsFor(emu);
    o.rateLimit = RateLimitOptions::fixed(45);
    Client client(ioc.get_executor(), o);
    const auto results = test::run(ioc, test::getOrCreateAll(client, 150, [](int i) { return i; }));
    for (const auto& r : results)
        BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
    BOOST_TEST(throttledBy(emu) == 0u);
    BOOST_TEST(client.stats().rateLimitWaitSeconds > 1.0); // it did pace the calls
}

// Adaptive: the client finds the limit by itself; every call succeeds, and the throttled
// answers did not use up the retry budget (it is for failures, not for a server's "slower").
BOOST_AUTO_TEST_CASE(adaptive_finds_the_limit_and_keeps_the_retry_budget)
{
    Emulator emu(limitedTo(50));
    net::io_context ioc;
    auto o = test::optionsFor(emu);
    o.retry.maxAttempts = 10;
    Client client(ioc.get_executor(), o);
    const auto results = test::run(ioc, test::getOrCreateAll(client, 250, [](int i) { return i; }));
    for (const auto& r : results)
        BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
    const auto s = client.stats();
    BOOST_TEST(s.throttled > 0u);              // it hit the limit...
    BOOST_TEST(s.throttled == throttledBy(emu));
    BOOST_TEST(s.rateLimit > 0.0);              // ...and now paces itself
    BOOST_TEST(s.rateLimit < 100.0, s.rateLimit);
    BOOST_TEST(s.retryBudgetTokens >= 99.0, s.retryBudgetTokens);
}

// A Retry-After holds every call of the client, not only the one that got it: a call made
// after it waits instead of collecting a 429 of its own.
BOOST_AUTO_TEST_CASE(retry_after_holds_the_whole_client)
{
    Emulator emu(limitedTo(1, true)); // one request per second, Retry-After: 1
    net::io_context ioc;
    auto o = test::optionsFor(emu);
    o.rateLimit = RateLimitOptions::fixed(1000, 1000); // far above the limit: only the hold can help
    Client client(ioc.get_executor(), o);
    const auto call = [&](int member, std::chrono::milliseconds timeout) {
        CallOptions options;
        options.timeout = timeout;
        return test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(member)), options));
    };
    BOOST_REQUIRE(call(1, 10s).has_value());
    const auto throttled = call(2, 500ms); // told to wait 1 s, beyond its deadline: it ends
    BOOST_REQUIRE(throttled.has_error());
    BOOST_TEST(throttled.error().httpStatus == 429);
    BOOST_TEST(throttled.error().stopReason == RetryStop::retryAfterTooLong);
    const auto start = Clock::now();
    const auto held = call(3, 10s); // without the hold: sent at once, and 429
    BOOST_REQUIRE_MESSAGE(held.has_value(), held.error().describe());
    BOOST_TEST((Clock::now() - start >= 800ms));
    BOOST_TEST(throttledBy(emu) == 1u);
    BOOST_TEST(client.stats().rateLimitWaitSeconds >= 0.8);
}

BOOST_AUTO_TEST_CASE(a_turn_after_the_deadline_fails_at_once)
{
    Emulator emu;
    net::io_context ioc;
    auto o = test::optionsFor(emu);
    o.rateLimit = RateLimitOptions::fixed(1);
    Client client(ioc.get_executor(), o);
    BOOST_REQUIRE(test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(1)))).has_value());
    const auto start = Clock::now();
    CallOptions call;
    call.timeout = 300ms; // the next turn is a second away
    const auto r = test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(2)), call));
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST(r.error().code == make_error_code(Errc::timeout), r.error().describe());
    BOOST_TEST(r.error().stopReason == RetryStop::deadline);
    BOOST_TEST(r.error().attempts == 0);
    BOOST_TEST((Clock::now() - start < 250ms)); // not after waiting out the deadline
}

BOOST_AUTO_TEST_CASE(a_call_waiting_for_its_turn_can_be_cancelled)
{
    Emulator emu;
    net::io_context ioc;
    auto o = test::optionsFor(emu);
    o.rateLimit = RateLimitOptions::fixed(0.5); // a turn every 2 s
    Client client(ioc.get_executor(), o);
    BOOST_REQUIRE(test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(1)))).has_value());
    const auto start = Clock::now();
    const auto outcome = test::run(ioc, [&]() -> net::awaitable<Result<GetOrCreateConversationResponse>> {
        net::steady_timer timer(co_await net::this_coro::executor, 100ms);
        auto either = co_await (client.getOrCreateConversation(ParticipantId::member(test::guid(2)))
                                || timer.async_wait(net::use_awaitable));
        if (either.index() == 0)
            co_return std::get<0>(std::move(either));
        co_return makeError(Errc::cancelled, "the timer won: the call was cancelled");
    }());
    BOOST_REQUIRE(outcome.has_error());
    BOOST_TEST(outcome.error().code == make_error_code(Errc::cancelled));
    BOOST_TEST((Clock::now() - start < 1s));
    BOOST_TEST(emu.stats().requests == 1u); // the cancelled call sent nothing
}

// Services answer a few 503s at random: one with Retry-After delays the call that got it,
// not the others. Here three in a row (the 503s of calls made without retries); the next
// call does not wait for its turn.
BOOST_AUTO_TEST_CASE(a_few_503s_with_retry_after_hold_no_other_call)
{
    Emulator emu;
    net::io_context ioc;
    Client client(ioc.get_executor(), test::optionsFor(emu));
    emulator::Faults down;
    down.status503 = 1.0;
    down.retryAfterSeconds = 5;
    emu.setFaults(down);
    CallOptions once;
    once.retry = RetryPolicy::noRetry();
    for (int i = 0; i < 3; ++i) {
        const auto r = test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(i)), once));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().httpStatus == 503);
    }
    emu.setFaults({});
    const auto r = test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(3))));
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
    BOOST_TEST(client.stats().rateLimitWaitSeconds == 0.0); // not held by the 503s' 5 s
    BOOST_TEST(emu.stats().requests == 4u);
}

// A service that is down (every answer 503 with Retry-After: 1) gets about one request per
// second from a client, whatever its calls in flight: the first ones, then one probe per
// Retry-After. The answer to a probe that is not a 503 ends the outage.
BOOST_AUTO_TEST_CASE(an_outage_gets_one_probe_per_retry_after)
{
    emulator::Options eo;
    eo.faults.status503 = 1.0;
    eo.faults.retryAfterSeconds = 1;
    Emulator emu(eo);
    net::io_context ioc;
    auto o = test::optionsFor(emu);
    o.timeout = 3500ms; // probes at ~1, 2 and 3 s, whatever the machine's speed
    Client client(ioc.get_executor(), o);
    constexpr int calls = 16;
    for (const auto& r : test::run(ioc, test::getOrCreateAll(client, calls, [](int i) { return i; }))) {
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST((r.error().httpStatus == 503 || r.error().code == make_error_code(Errc::timeout)),
                   r.error().describe());
    }
    const auto sent = emu.stats().requests;
    BOOST_TEST(sent >= std::uint64_t{calls});
    BOOST_TEST(sent <= std::uint64_t{calls} + 4, sent); // without the outage rule: ~4 per call

    emu.setFaults({});
    const auto probe = test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(100))));
    BOOST_REQUIRE_MESSAGE(probe.has_value(), probe.error().describe());
    const double waited = client.stats().rateLimitWaitSeconds;
    const auto after = test::run(ioc, client.getOrCreateConversation(ParticipantId::member(test::guid(101))));
    BOOST_REQUIRE_MESSAGE(after.has_value(), after.error().describe());
    BOOST_TEST(client.stats().rateLimitWaitSeconds == waited); // the outage is over
}
