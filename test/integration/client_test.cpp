// SPDX-License-Identifier: BSL-1.0
// The client end to end over real TLS against the emulator (and a scripted server for
// responses the emulator never gives).
#define BOOST_TEST_MODULE client
#include <boost/test/unit_test.hpp>

#include "scripted_server.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <map>
#include <set>

using namespace wix::inbox;
using namespace std::chrono_literals;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

ClientOptions noRetry(ClientOptions o)
{
    o.retry = RetryPolicy::noRetry();
    return o;
}


} // namespace

BOOST_AUTO_TEST_CASE(get_or_create_then_get)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        auto first = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE_MESSAGE(first.has_value(), first.error().describe());
        BOOST_TEST(first->newConversation);
        BOOST_TEST(isValidGuid(first->conversation.id));
        BOOST_TEST(*first->conversation.participant.memberId == guid(1));
        BOOST_TEST(first->conversation.participant.contactId.has_value()); // members carry a contact ID
        BOOST_TEST(first->conversation.channels.size() == 1u);

        auto again = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE(again.has_value());
        BOOST_TEST(!again->newConversation);
        BOOST_TEST(again->conversation.id == first->conversation.id);

        auto other = co_await client.getOrCreateConversation(ParticipantId::contact(guid(1)));
        BOOST_REQUIRE(other.has_value());
        BOOST_TEST(other->newConversation); // same GUID, other participant kind
        BOOST_TEST(other->conversation.id != first->conversation.id);

        auto got = co_await client.getConversation(first->conversation.id);
        BOOST_REQUIRE(got.has_value());
        BOOST_TEST((*got == first->conversation));

        // Keep-alive: all four calls went over one connection.
        BOOST_TEST(client.stats().pool.connectionsOpened == 1u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().connectionsAccepted == 1u);
}

BOOST_AUTO_TEST_CASE(invalid_ids_are_rejected_before_sending)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        auto bad = co_await client.getConversation("not-a-guid");
        BOOST_REQUIRE(bad.has_error());
        BOOST_TEST(bad.error().code == make_error_code(Errc::invalidArgument));
        BOOST_TEST(bad.error().attempts == 0);
        auto badParticipant = co_await client.getOrCreateConversation(ParticipantId::anonymousVisitor("123"));
        BOOST_REQUIRE(badParticipant.has_error());
        BOOST_TEST(badParticipant.error().message.find("anonymousVisitorId") != std::string::npos);
        BOOST_CHECK_THROW((void)badParticipant.value(), Exception);
        co_return true;
    }());
    BOOST_TEST(emu.stats().requests == 0u);
    BOOST_TEST(emu.stats().connectionsAccepted == 0u);
}

BOOST_AUTO_TEST_CASE(not_found_is_a_typed_application_error_attempted_once)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        auto r = co_await client.getConversation(guid(42));
        BOOST_REQUIRE(r.has_error());
        const Error& e = r.error();
        BOOST_TEST(e.code == make_error_code(Errc::httpStatus));
        BOOST_TEST(e.httpStatus == 404);
        BOOST_TEST(e.applicationCode == "CONVERSATION_NOT_FOUND");
        BOOST_TEST(!e.requestId.empty());
        BOOST_TEST(e.attempts == 1);
        BOOST_TEST(e.stopReason == RetryStop::notRetryable);
        co_return true;
    }());
    BOOST_TEST(emu.stats().byRoute.at("getConversation") == 1u);
}

BOOST_AUTO_TEST_CASE(validation_error_carries_field_violations)
{
    test::ScriptedServer server(test::rawResponse(
        "400 Bad Request",
        R"({"message":"bad id","details":{"validationError":{"fieldViolations":[{"field":"participantId.memberId","description":"not a GUID","violatedRule":"FORMAT"}]}}})",
        "X-Wix-Request-Id: r-400\r\n"));
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o;
        o.baseUrl = server.url();
        o.tls.caFile = server.caFile();
        Client client(ioc.get_executor(), o);
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().httpStatus == 400);
        BOOST_TEST(r.error().requestId == "r-400");
        BOOST_REQUIRE(r.error().fieldViolations.size() == 1u);
        BOOST_TEST(r.error().fieldViolations[0].field == "participantId.memberId");
        BOOST_TEST(r.error().attempts == 1);
        co_return true;
    }());
    BOOST_TEST(server.requests() == 1); // 400 is never retried
}

BOOST_AUTO_TEST_CASE(server_errors_with_empty_or_non_json_bodies)
{
    for (const auto& [status, expectedMessage] :
         std::vector<std::pair<int, std::string>>{{500, "empty error body"},
                                                  {502, "error body is not the Wix error envelope"},
                                                  {504, "empty error body"}}) {
        emulator::Options eo;
        (status == 500 ? eo.faults.status500 : status == 502 ? eo.faults.status502 : eo.faults.status504) = 1.0;
        Emulator emu(eo);
        net::io_context ioc;
        test::run(ioc, [&]() -> net::awaitable<bool> {
            Client client(ioc.get_executor(), noRetry(test::optionsFor(emu)));
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(7)));
            BOOST_REQUIRE(r.has_error());
            BOOST_TEST(r.error().httpStatus == status);
            BOOST_TEST(r.error().message == expectedMessage);
            BOOST_TEST(!r.error().requestId.empty());
            BOOST_TEST(r.error().stopReason == RetryStop::attemptsExhausted);
            co_return true;
        }());
    }
}

BOOST_AUTO_TEST_CASE(untrusted_certificate_fails_the_handshake)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.tls.caFile.clear(); // only the system roots: the emulator's CA is unknown
        Client client(ioc.get_executor(), o);
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().code == make_error_code(Errc::tlsHandshakeFailed));
        BOOST_TEST(r.error().message.find("certificate verification failed") != std::string::npos, r.error().message);
        BOOST_TEST(r.error().attempts == 1); // a certificate problem is not transient
        co_return true;
    }());
    BOOST_TEST(emu.stats().requests == 0u);
}

BOOST_AUTO_TEST_CASE(host_name_mismatch_fails_the_handshake)
{
    emulator::Options eo;
    eo.certificateNames = {"other.example"};
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        auto r = co_await client.getConversation(guid(1));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().code == make_error_code(Errc::tlsHandshakeFailed));
        BOOST_TEST(r.error().message.find("certificate verification failed") != std::string::npos, r.error().message);
        co_return true;
    }());
    BOOST_TEST(emu.stats().requests == 0u);
}

BOOST_AUTO_TEST_CASE(connection_refused)
{
    net::io_context ioc;
    // A port that was free a moment ago and has no listener now.
    net::ip::tcp::acceptor probe(ioc, {net::ip::make_address("127.0.0.1"), 0});
    const auto port = probe.local_endpoint().port();
    probe.close();
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o;
        o.baseUrl = "https://127.0.0.1:" + std::to_string(port);
        o.retry = RetryPolicy{3, 0ms};
        o.backoff = {1ms, 1.0, 1ms};
        Client client(ioc.get_executor(), o);
        auto r = co_await client.getConversation(guid(1));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().code == make_error_code(Errc::connectFailed));
        BOOST_TEST(r.error().cause == net::error::connection_refused);
        BOOST_TEST(r.error().attempts == 3); // refused before sending: transient, retried
        BOOST_TEST(r.error().stopReason == RetryStop::attemptsExhausted);
        BOOST_TEST(client.stats().pool.connectFailures == 3u);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(a_stalled_server_times_out_within_the_deadline)
{
    emulator::Options eo;
    eo.faults.stall = 1.0;
    Emulator emu(eo);
    net::io_context ioc;
    const auto start = Clock::now();
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)), CallOptions{.timeout = 400ms, .retry = {}, .idempotency = Idempotency::byMethod, .headers = {}});
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().code == make_error_code(Errc::timeout));
        BOOST_TEST(r.error().stopReason == RetryStop::deadline);
        co_return true;
    }());
    const auto elapsed = Clock::now() - start;
    BOOST_TEST((elapsed >= 400ms));
    BOOST_TEST((elapsed < 400ms + 2s)); // generous margin: this checks "no hang", not speed
}

BOOST_AUTO_TEST_CASE(cancellation_returns_promptly)
{
    using namespace net::experimental::awaitable_operators;
    emulator::Options eo;
    eo.faults.stall = 1.0;
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        net::steady_timer timer(ioc, 100ms);
        const auto start = Clock::now();
        auto raced = co_await (client.getConversation(guid(1)) || timer.async_wait(net::use_awaitable));
        BOOST_TEST((Clock::now() - start < 5s)); // the call's own deadline is 30 s
        BOOST_TEST(raced.index() == 1u);        // the timer won, the call was cancelled
        // The pool is consistent afterwards: nothing waiting, nothing leaked in use.
        const auto stats = client.stats().pool;
        BOOST_TEST(stats.waiters == 0u);
        BOOST_TEST(stats.inUse == 0u);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(cancelled_result_is_typed)
{
    emulator::Options eo;
    eo.faults.stall = 1.0;
    Emulator emu(eo);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        net::steady_timer timer(ioc, 100ms);
        auto [order, failure, result, timerError] =
            co_await net::experimental::make_parallel_group(
                net::co_spawn(ioc, client.getConversation(guid(1)), net::deferred), timer.async_wait(net::deferred))
                .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
        BOOST_TEST(order[0] == 1u);
        BOOST_REQUIRE(result.has_error());
        BOOST_TEST(result.error().code == make_error_code(Errc::cancelled));
        BOOST_TEST(result.error().attempts == 1);
        co_return true;
    }());
}

// A Client in main(): after close() the io_context runs out of work as soon as the request
// in flight is answered (it is not aborted), instead of idling for the pool's 30 s; a call
// after close() fails at once.
BOOST_AUTO_TEST_CASE(close_lets_the_call_in_flight_finish_and_run_return)
{
    emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = 300ms;
    Emulator emu(eo);
    net::io_context ioc;
    Client client(ioc.get_executor(), test::optionsFor(emu));
    std::optional<test::GetOrCreateResult> inFlight, after;
    net::co_spawn(ioc, client.getOrCreateConversation(ParticipantId::member(guid(1))),
                  [&](std::exception_ptr, test::GetOrCreateResult r) { inFlight.emplace(std::move(r)); });
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
            while (!inFlight && client.stats().pool.inUse == 0) // until the request is on its connection
                co_await net::post(ioc, net::use_awaitable);
            client.close();
            after = co_await client.getOrCreateConversation(ParticipantId::member(guid(2)));
        },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    ioc.run_for(20s); // a bound only: without close() the pool's idle timer would run for 30 s
    BOOST_TEST(ioc.stopped());
    BOOST_REQUIRE(inFlight.has_value());
    BOOST_TEST(inFlight->has_value());
    BOOST_REQUIRE(after.has_value());
    BOOST_REQUIRE(after->has_error());
    BOOST_TEST(after->error().code == make_error_code(Errc::clientShutdown));
    BOOST_TEST(after->error().attempts == 0);
    BOOST_TEST(client.stats().pool.open == 0u);
}

BOOST_AUTO_TEST_CASE(many_concurrent_coroutines)
{
    Emulator emu;
    net::io_context ioc;
    constexpr int calls = 400;
    std::vector<std::string> ids(calls);
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.pool.maxConnections = 8;
        Client client(ioc.get_executor(), o);
        const auto results = co_await test::getOrCreateAll(client, calls, [](int i) { return i % 100; });
        for (int i = 0; i < calls; ++i) {
            BOOST_REQUIRE(results[i].has_value());
            ids[i] = results[i]->conversation.id;
        }
        const auto stats = client.stats();
        BOOST_TEST(stats.pool.connectionsOpened <= 8u);
        BOOST_TEST(stats.pool.tlsFullHandshakes + stats.pool.tlsResumed == stats.pool.connectionsOpened);
        BOOST_TEST(stats.calls == static_cast<std::uint64_t>(calls));
        co_return true;
    }());
    // One conversation per participant, whatever the interleaving.
    for (int i = 0; i < calls; ++i)
        BOOST_TEST(ids[i] == ids[i % 100]);
    BOOST_TEST(std::set<std::string>(ids.begin(), ids.end()).size() == 100u);
    BOOST_TEST(emu.stats().conversations == 100u);
}

BOOST_AUTO_TEST_CASE(api_key_headers_are_sent_and_never_echoed)
{
    test::ScriptedServer server(test::rawResponse("401 Unauthorized", ""));
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o;
        o.baseUrl = server.url();
        o.tls.caFile = server.caFile();
        o.credentials = ApiKey{"SECRET-KEY-123", "site-1", ""};
        Client client(ioc.get_executor(), o);
        auto r = co_await client.getConversation(guid(3));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().httpStatus == 401);
        BOOST_TEST(r.error().attempts == 1);
        BOOST_TEST(r.error().describe().find("SECRET") == std::string::npos);
        co_return true;
    }());
    const std::string request = server.lastRequest();
    BOOST_TEST(request.find("\r\nAuthorization: SECRET-KEY-123\r\n") != std::string::npos);
    BOOST_TEST(request.find("\r\nwix-site-id: site-1\r\n") != std::string::npos);
    BOOST_TEST(request.find("wix-account-id") == std::string::npos);
    BOOST_TEST(request.find("\r\nUser-Agent: wix-inbox-cpp/" + std::string(version()) + "\r\n") != std::string::npos);
    ClientOptions bad;
    bad.credentials = AccessToken{"s3cr3t\r\nX-Injected: 1"};
    try {
        Client client(ioc.get_executor(), bad);
        BOOST_FAIL("a header with a line break must be rejected");
    } catch (const Exception& e) {
        BOOST_TEST(e.error().code == make_error_code(Errc::invalidArgument));
        BOOST_TEST(std::string(e.what()).find("s3cr3t") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(consistency_header_is_echoed_on_later_requests)
{
    test::ScriptedServer server(test::rawResponse("404 Not Found", "", "X-Wix-Consistent: v-42\r\n"));
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o;
        o.baseUrl = server.url();
        o.tls.caFile = server.caFile();
        Client client(ioc.get_executor(), o);
        co_await client.getConversation(guid(1));
        BOOST_TEST(server.lastRequest().find("X-Wix-Consistent") == std::string::npos);
        co_await client.getConversation(guid(2));
        BOOST_TEST(server.lastRequest().find("\r\nX-Wix-Consistent: v-42\r\n") != std::string::npos);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(invalid_options_are_rejected)
{
    net::io_context ioc;
    for (const char* url : {"http://www.wixapis.com", "www.wixapis.com", "https://user:pw@host", "https://h/?q=1"}) {
        ClientOptions o;
        o.baseUrl = url;
        BOOST_CHECK_THROW(Client(ioc.get_executor(), o), Exception);
    }
    ClientOptions o;
    o.tls.caFile = "/nonexistent/ca.pem";
    BOOST_CHECK_THROW(Client(ioc.get_executor(), o), Exception);
    o = {};
    o.pool.maxConnections = 0;
    BOOST_CHECK_THROW(Client(ioc.get_executor(), o), Exception);
}

BOOST_AUTO_TEST_CASE(crm_prefix_base_url_path_is_used)
{
    // The emulator serves /crm/inbox/v2/... too: a base URL with a path prefix reaches it.
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.baseUrl += "/crm/";
        Client client(ioc.get_executor(), o);
        auto r = co_await client.getOrCreateConversation(ParticipantId::anonymousVisitor(guid(5)));
        BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
        BOOST_TEST(*r->conversation.participant.anonymousVisitorId == guid(5));
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(user_agent_and_extra_headers_are_sent_and_checked)
{
    emulator::Options eo;
    eo.recordRequestHeaders = true;
    Emulator emu(eo);
    ClientOptions o = test::optionsFor(emu);
    o.userAgentSuffix = "my-app/2.1";
    o.headers = {{"X-Team", "inbox"}};
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), o);
        CallOptions call;
        call.headers = {{"X-Trace-Id", "abc 123"}};
        const auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)), call);
        BOOST_TEST_REQUIRE(r.has_value(), r.error().describe());
        const auto seen = boost::json::parse(emu.admin("GET", "/_emulator/last-request", "").body);
        std::map<std::string, std::string> headers;
        for (const auto& h : seen.at("headers").as_array())
            headers[std::string(h.at(0).as_string())] = h.at(1).as_string();
        BOOST_TEST(headers["User-Agent"] == "wix-inbox-cpp/" + std::string(version()) + " my-app/2.1");
        BOOST_TEST(headers["X-Team"] == "inbox");
        BOOST_TEST(headers["X-Trace-Id"] == "abc 123");

        // Refused per call before anything is sent; the value (perhaps a secret) is not repeated.
        const auto requests = emu.stats().requests;
        for (const Headers& bad : {Headers{{"Authorization", "x"}}, Headers{{"wix-site-id", "x"}},
                                   Headers{{"user-agent", "x"}}, Headers{{"Bad Name", "x"}},
                                   Headers{{"X-A", "s3cret\r\nX-Evil: 1"}}, Headers{{"X-A", std::string("a\0b", 3)}},
                                   Headers{{"Content-Length", "0"}}, Headers{{"", "x"}}}) {
            call.headers = bad;
            const auto refused = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)), call);
            BOOST_TEST_REQUIRE(!refused.has_value());
            BOOST_TEST(refused.error().code == make_error_code(Errc::invalidArgument));
            BOOST_TEST(refused.error().attempts == 0);
            BOOST_TEST(refused.error().message.find("s3cret") == std::string::npos);
        }
        BOOST_TEST(emu.stats().requests == requests);
        co_return true;
    }());

    // Refused per client when it is built.
    for (const Headers& bad : {Headers{{"Host", "x"}}, Headers{{"X-A", "line\nbreak"}}}) {
        ClientOptions refused = o;
        refused.headers = bad;
        BOOST_CHECK_THROW(Client(ioc.get_executor(), refused), Exception);
    }
    ClientOptions badSuffix = o;
    badSuffix.userAgentSuffix = "x\r\nX-Evil: 1";
    BOOST_CHECK_THROW(Client(ioc.get_executor(), badSuffix), Exception);
}

BOOST_AUTO_TEST_CASE(an_ipv6_literal_base_url_is_verified_against_the_certificate)
{
    {
        net::io_context probe;
        net::ip::tcp::acceptor a(probe);
        boost::system::error_code ec;
        a.open(net::ip::tcp::v6(), ec);
        if (!ec)
            a.bind({net::ip::make_address("::1"), 0}, ec);
        if (ec) {
            BOOST_TEST_MESSAGE("no IPv6 loopback on this machine: skipped");
            return;
        }
    }
    emulator::Options eo;
    eo.address = "::1";
    eo.recordRequestHeaders = true;
    Emulator emu(eo);
    BOOST_TEST(emu.url() == "https://[::1]:" + std::to_string(emu.port()));
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        BOOST_TEST_REQUIRE(o.tls.verifyPeer);
        Client client(ioc.get_executor(), o);
        const auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_TEST_REQUIRE(r.has_value(), r.error().describe());
        const auto seen = boost::json::parse(emu.admin("GET", "/_emulator/last-request", "").body);
        for (const auto& h : seen.at("headers").as_array())
            if (h.at(0).as_string() == "Host")
                BOOST_TEST(h.at(1).as_string() == "[::1]:" + std::to_string(emu.port()));
        co_return true;
    }());
}
