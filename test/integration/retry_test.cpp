// SPDX-License-Identifier: BSL-1.0
// The retry loop end to end over TLS, against the emulator's fault injection.
#define BOOST_TEST_MODULE retry_integration
#include <boost/test/unit_test.hpp>

#include "scripted_server.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace wix::inbox;
using namespace std::chrono_literals;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

Emulator withFaults(auto&& set)
{
    emulator::Options o;
    set(o.faults);
    return Emulator(o);
}

} // namespace

BOOST_AUTO_TEST_CASE(transient_faults_are_invisible_to_callers)
{
    emulator::Options eo;
    eo.faults.status503 = 0.3;
    eo.faults.status429 = 0.1;
    eo.faults.retryAfterSeconds = 1;
    Emulator emu(eo);
    net::io_context ioc;
    constexpr int calls = 10000;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.retry.maxAttempts = 20;       // 0.4^20: no call should run out of attempts
        o.retryBudget.maxTokens = 0;    // a 40% failure rate would (rightly) exhaust the budget
        o.rateLimit = RateLimitOptions::off(); // random throttles no rate avoids: this measures retries
        o.timeout = 60s;
        Client client(ioc.get_executor(), o);
        int failed = 0;
        std::string firstError;
        for (const auto& r : co_await test::getOrCreateAll(client, calls, [](int i) { return i % 1000; }))
            if (!r && failed++ == 0)
                firstError = r.error().describe();
        BOOST_TEST(failed == 0, firstError);
        const auto s = client.stats();
        BOOST_TEST(s.retries > 3000u); // ~0.4/0.6 retries per call
        BOOST_TEST(s.attempts == calls + s.retries);
        co_return true;
    }());
    const auto stats = emu.stats();
    BOOST_TEST(stats.faults.at("fault-503") > 0u);
    BOOST_TEST(stats.faults.at("fault-429") > 0u);
    BOOST_TEST(stats.conversations == 1000u);
}

BOOST_AUTO_TEST_CASE(retry_after_http_date_is_obeyed)
{
    auto emu = withFaults([](emulator::Faults& f) {
        f.status429 = 1.0;
        f.retryAfterSeconds = 2;
        f.retryAfterAsDate = true; // a date with one-second resolution: 1 to 2 s from now
    });
    net::io_context ioc;
    const auto start = Clock::now();
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.retry.maxAttempts = 2;
        o.rateLimit = RateLimitOptions::off(); // so that attempts, not the deadline, end the 429s
        Client client(ioc.get_executor(), o);
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().httpStatus == 429);
        BOOST_TEST(r.error().attempts == 2);
        BOOST_TEST(r.error().stopReason == RetryStop::attemptsExhausted);
        BOOST_TEST(r.error().lastTransientFailure.find("HTTP 429") != std::string::npos);
        co_return true;
    }());
    BOOST_TEST((Clock::now() - start >= 900ms)); // it waited as told instead of its own ~100 ms
    BOOST_TEST(emu.stats().requests == 2u);
}

// A server that throttles at once (429, Retry-After: 0) gets maxAttempts requests from a
// call, not as many as fit before its deadline, whatever the rate limiter's mode; the call
// ends with the last 429, retryable by a job that retries its own work.
BOOST_AUTO_TEST_CASE(throttles_count_against_max_attempts)
{
    auto emu = withFaults([](emulator::Faults& f) {
        f.status429 = 1.0;
        f.retryAfterSeconds = 0;
    });
    net::io_context ioc;
    std::uint64_t sent = 0;
    for (const auto& rateLimit : {RateLimitOptions{}, RateLimitOptions::off(), RateLimitOptions::fixed(100)}) {
        test::run(ioc, [&]() -> net::awaitable<bool> {
            ClientOptions o = test::optionsFor(emu);
            o.retry.maxAttempts = 2;
            o.rateLimit = rateLimit;
            Client client(ioc.get_executor(), o);
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
            BOOST_REQUIRE(r.has_error());
            BOOST_TEST(r.error().code == make_error_code(Errc::httpStatus));
            BOOST_TEST(r.error().httpStatus == 429);
            BOOST_TEST(r.error().attempts == 2);
            BOOST_TEST(r.error().stopReason == RetryStop::attemptsExhausted);
            BOOST_TEST(isTransient(r.error()));
            BOOST_TEST(client.stats().throttled == 2u);
            co_return true;
        }());
        BOOST_TEST(emu.stats().requests - sent == 2u);
        sent = emu.stats().requests;
    }
}

// Retry-After: 0 asks for no wait; the retry still waits the backoff's draw, at least half
// the initial delay. Measured by the server between the two requests' arrivals.
BOOST_AUTO_TEST_CASE(a_retry_after_of_zero_still_gets_the_backoffs_pause)
{
    for (const char* status : {"429 Too Many Requests", "503 Service Unavailable"}) {
        test::ScriptedServer server(test::rawResponse(status, R"({"message":"later"})", "Retry-After: 0\r\n"));
        net::io_context ioc;
        test::run(ioc, [&]() -> net::awaitable<bool> {
            ClientOptions o;
            o.baseUrl = server.url();
            o.tls.caFile = server.caFile();
            o.retry.maxAttempts = 2;
            o.backoff = {400ms, 2.0, 1s};          // the first retry waits 200..400 ms
            o.rateLimit = RateLimitOptions::off(); // the backoff alone paces the retry
            Client client(ioc.get_executor(), o);
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
            BOOST_REQUIRE(r.has_error());
            BOOST_TEST(r.error().attempts == 2);
            co_return true;
        }());
        const auto arrivals = server.arrivals();
        BOOST_REQUIRE(arrivals.size() == 2u);
        BOOST_TEST((arrivals[1] - arrivals[0] >= 200ms), status);
    }
}

BOOST_AUTO_TEST_CASE(retry_after_beyond_the_deadline_fails_now)
{
    auto emu = withFaults([](emulator::Faults& f) {
        f.status503 = 1.0;
        f.retryAfterSeconds = 30;
    });
    net::io_context ioc;
    const auto start = Clock::now();
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        CallOptions call;
        call.timeout = 5s;
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)), call);
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().httpStatus == 503);
        BOOST_TEST(r.error().stopReason == RetryStop::retryAfterTooLong);
        BOOST_TEST(r.error().attempts == 1);
        co_return true;
    }());
    BOOST_TEST((Clock::now() - start < 4s)); // did not sleep toward the deadline
}

BOOST_AUTO_TEST_CASE(connection_failures_before_a_response_are_retried)
{
    auto emu = withFaults([](emulator::Faults& f) { f.closeBeforeResponse = 1.0; });
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.backoff = {1ms, 2.0, 10ms};
        Client client(ioc.get_executor(), o);
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().code == make_error_code(Errc::connectionClosed));
        BOOST_TEST(r.error().attempts == 4);
        BOOST_TEST(r.error().stopReason == RetryStop::attemptsExhausted);
        co_return true;
    }());
    BOOST_TEST(emu.stats().faults.at("fault-close") == 4u);
}

BOOST_AUTO_TEST_CASE(call_options_override_the_policy_and_idempotency)
{
    auto emu = withFaults([](emulator::Faults& f) {
        f.status503 = 1.0;
        f.retryAfterSeconds = 0;
    });
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        CallOptions once;
        once.retry = RetryPolicy::noRetry();
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)), once);
        BOOST_TEST(r.error().attempts == 1);
        BOOST_TEST(r.error().stopReason == RetryStop::attemptsExhausted);

        CallOptions unsafe;
        unsafe.idempotency = Idempotency::nonIdempotent;
        r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)), unsafe);
        BOOST_TEST(r.error().attempts == 1); // the 503 came from a server that saw the request
        BOOST_TEST(r.error().stopReason == RetryStop::notIdempotent);
        co_return true;
    }());
    BOOST_TEST(emu.stats().requests == 2u);
}

BOOST_AUTO_TEST_CASE(retry_budget_stops_a_retry_storm)
{
    auto emu = withFaults([](emulator::Faults& f) {
        f.status503 = 1.0;
        f.retryAfterSeconds = 0;
    });
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu); // budget: 100 tokens, retries stop at 50
        Client client(ioc.get_executor(), o);
        RetryStop last = RetryStop::none;
        for (int i = 0; i < 100; ++i) {
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(i)));
            last = r.error().stopReason;
        }
        BOOST_TEST(last == RetryStop::budgetExhausted);
        BOOST_TEST(client.stats().retryBudgetTokens <= 50.0);
        co_return true;
    }());
    // Without the budget: 400 requests (4 attempts each). With it: about 50 retries in all.
    BOOST_TEST(emu.stats().requests < 160u);
    BOOST_TEST(emu.stats().requests >= 100u);
}

BOOST_AUTO_TEST_CASE(cancellation_during_backoff_returns_promptly)
{
    auto emu = withFaults([](emulator::Faults& f) {
        f.status503 = 1.0;
        f.retryAfterSeconds = 5;
    });
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        net::steady_timer timer(ioc, 300ms);
        const auto start = Clock::now();
        auto [order, failure, result, timerError] =
            co_await net::experimental::make_parallel_group(
                net::co_spawn(ioc, client.getOrCreateConversation(ParticipantId::member(guid(1))), net::deferred),
                timer.async_wait(net::deferred))
                .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
        BOOST_TEST(order[0] == 1u); // the timer finished first; the call was cancelled in its sleep
        BOOST_TEST((Clock::now() - start < 2s));
        BOOST_REQUIRE(result.has_error());
        BOOST_TEST(result.error().code == make_error_code(Errc::cancelled));
        BOOST_TEST(result.error().stopReason == RetryStop::cancelled);
        BOOST_TEST(result.error().attempts == 1);
        co_return true;
    }());
    BOOST_TEST(emu.stats().requests == 1u);
}
