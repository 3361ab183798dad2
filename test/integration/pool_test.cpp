// SPDX-License-Identifier: BSL-1.0
// The shared pool over real TLS against the emulator.
#define BOOST_TEST_MODULE pool
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace wix::inbox;
using namespace std::chrono_literals;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Starts `calls` getOrCreate calls at once and waits for all; returns how many failed.
net::awaitable<int> burst(Client& client, int calls, std::vector<Error>* errors = nullptr)
{
    int failed = 0;
    for (auto& r : co_await test::getOrCreateAll(client, calls, [](int i) { return i; })) {
        if (r)
            continue;
        ++failed;
        if (errors)
            errors->push_back(r.error());
    }
    co_return failed;
}

net::awaitable<void> pause(std::chrono::milliseconds d)
{
    net::steady_timer t(co_await net::this_coro::executor, d);
    co_await t.async_wait(net::use_awaitable);
}

} // namespace

BOOST_AUTO_TEST_CASE(concurrency_above_the_limit_uses_at_most_k_connections)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.pool.maxConnections = 4;
        Client client(ioc.get_executor(), o);
        BOOST_TEST(co_await burst(client, 500) == 0);
        const auto s = client.stats().pool;
        BOOST_TEST(s.connectionsOpened <= 4u);
        BOOST_TEST(s.tlsFullHandshakes + s.tlsResumed == s.connectionsOpened);
        BOOST_TEST(s.inUse == 0u);
        BOOST_TEST(s.waiters == 0u);
        BOOST_TEST(s.idle == s.open);
        co_return true;
    }());
    BOOST_TEST(emu.stats().connectionsAccepted <= 4u);
}

BOOST_AUTO_TEST_CASE(server_closing_idle_connections_loses_no_call)
{
    emulator::Options eo;
    eo.faults.idleTimeout = 50ms; // the server closes connections idle for 50 ms
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu)); // its own idle timeout: 30 s
        for (int i = 0; i < 15; ++i) {
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(i)));
            BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
            co_await pause(100ms); // the idle gap in which the server closes the connection
        }
        const auto s = client.stats();
        BOOST_TEST(s.attempts == 15u); // no call needed a retry of the retry policy
        BOOST_TEST(s.pool.connectionsOpened > 1u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().connectionsAccepted > 1u);
}

BOOST_AUTO_TEST_CASE(keep_alive_timeout_hint_is_honoured)
{
    emulator::Options eo;
    eo.faults.idleTimeout = 1s;
    eo.faults.idleTimeoutHint = true; // Keep-Alive: timeout=1 → keep for less than a second
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        for (int i = 0; i < 3; ++i) {
            auto r = co_await client.getConversation(guid(i));
            BOOST_TEST(r.error().httpStatus == 404);
        }
        const auto s = client.stats().pool;
        BOOST_TEST(s.connectionsOpened == 3u); // never reused past the server's announced limit
        BOOST_TEST(s.staleRetries == 0u);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(connection_close_is_never_reused)
{
    emulator::Options eo;
    eo.faults.closeAfterRequests = 3; // every third answer says Connection: close
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        for (int i = 0; i < 30; ++i)
            BOOST_REQUIRE(co_await client.getOrCreateConversation(ParticipantId::member(guid(i))));
        const auto s = client.stats();
        BOOST_TEST(s.pool.connectionsOpened == 10u);
        BOOST_TEST(s.pool.staleRetries == 0u);
        BOOST_TEST(s.attempts == 30u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().connectionsAccepted == 10u);
}

BOOST_AUTO_TEST_CASE(stale_connection_is_retried_once_on_a_fresh_one)
{
    emulator::Options eo;
    eo.faults.idleTimeout = 200ms;
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        BOOST_REQUIRE(co_await client.getOrCreateConversation(ParticipantId::member(guid(1))));
        co_await pause(400ms); // the server has closed the idle connection by now
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
        BOOST_TEST(!r->newConversation);
        const auto s = client.stats();
        BOOST_TEST(s.attempts == 2u);
        BOOST_TEST(s.pool.connectionsOpened == 2u);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(cancelled_waiter_leaves_no_trace)
{
    using namespace net::experimental::awaitable_operators;
    emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = 300ms;
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.pool.maxConnections = 1;
        Client client(ioc.get_executor(), o);
        std::optional<Result<GetOrCreateConversationResponse>> first;
        net::co_spawn(ioc, client.getOrCreateConversation(ParticipantId::member(guid(1))),
                      [&](std::exception_ptr, Result<GetOrCreateConversationResponse> r) { first.emplace(std::move(r)); });
        co_await pause(50ms); // the first call holds the only connection
        net::steady_timer timer(ioc, 50ms);
        auto raced = co_await (client.getConversation(guid(2)) || timer.async_wait(net::use_awaitable));
        BOOST_TEST(raced.index() == 1u);
        BOOST_TEST(client.stats().pool.waiters == 0u);
        auto third = co_await client.getOrCreateConversation(ParticipantId::member(guid(3)));
        BOOST_TEST(third.has_value());
        BOOST_REQUIRE(first.has_value());
        BOOST_TEST(first->has_value());
        BOOST_TEST(client.stats().pool.connectionsOpened == 1u);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(acquire_timeout)
{
    emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = 500ms;
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.pool.maxConnections = 1;
        o.pool.acquireTimeout = 50ms;
        Client client(ioc.get_executor(), o);
        std::vector<Error> errors;
        BOOST_TEST(co_await burst(client, 2, &errors) == 1);
        BOOST_REQUIRE(errors.size() == 1u);
        BOOST_TEST(errors[0].code == make_error_code(Errc::poolAcquireTimeout));
        BOOST_TEST(errors[0].attempts == 1);
        BOOST_TEST(client.stats().pool.acquireTimeouts == 1u);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(new_connections_resume_the_tls_session)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.pool.maxRequestsPerConnection = 1; // every call opens a new connection
        Client client(ioc.get_executor(), o);
        for (int i = 0; i < 5; ++i)
            BOOST_REQUIRE(co_await client.getOrCreateConversation(ParticipantId::member(guid(i))));
        const auto s = client.stats().pool;
        BOOST_TEST(s.connectionsOpened == 5u);
        BOOST_TEST(s.tlsFullHandshakes == 1u);
        BOOST_TEST(s.tlsResumed == 4u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().tlsResumed == 4u);
}

BOOST_AUTO_TEST_CASE(destroying_the_client_ends_calls_in_flight)
{
    emulator::Options eo;
    eo.faults.stall = 1.0;
    Emulator emu(eo);
    net::io_context ioc;
    std::vector<Error> errors;
    int completed = 0;
    {
        ClientOptions o = test::optionsFor(emu);
        o.pool.maxConnections = 2;
        auto client = std::make_unique<Client>(ioc.get_executor(), o);
        for (int i = 0; i < 6; ++i)
            net::co_spawn(ioc, client->getOrCreateConversation(ParticipantId::member(guid(i))),
                          [&](std::exception_ptr, Result<GetOrCreateConversationResponse> r) {
                              ++completed;
                              if (!r)
                                  errors.push_back(r.error());
                          });
        // Run until both connections carry a stalled request and four calls wait.
        while (emu.stats().requests < 2)
            ioc.run_one_for(10ms);
        client.reset();
    }
    ioc.restart();
    ioc.run(); // returns only if nothing is left pending
    BOOST_TEST(completed == 6);
    BOOST_REQUIRE(errors.size() == 6u);
    for (const auto& e : errors)
        BOOST_TEST(e.code == make_error_code(Errc::clientShutdown), e.describe());
}
