// SPDX-License-Identifier: BSL-1.0
// Hostile servers over real TLS: each gives a typed error within the deadline (or a
// correct result where the answer is valid HTTP), and leaves the pool healthy.
#define BOOST_TEST_MODULE hostile
#include <boost/test/unit_test.hpp>

#include "scripted_server.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>

#include <algorithm>
#include <cctype>

using namespace wix::inbox;
using namespace std::chrono_literals;
using test::guid;
using test::rawResponse;
using test::Script;
using test::ScriptedServer;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

const std::string conversationJson =
    R"({"conversation":{"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"memberId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f"},"channels":["CHAT"],"businessDisplayData":{"name":"b"}}})";

struct Outcome {
    Result<Conversation> result = Error{};
    PoolStats pool;
    std::chrono::steady_clock::duration elapsed{};
};

// One getConversation against `server`, no retries, a 2 s deadline unless set.
Outcome callOnce(const ScriptedServer& server, std::function<void(ClientOptions&)> adjust = {})
{
    net::io_context ioc;
    Outcome out;
    const auto start = Clock::now();
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o;
        o.baseUrl = server.url();
        o.tls.caFile = server.caFile();
        o.retry = RetryPolicy::noRetry();
        o.timeout = 2s;
        if (adjust)
            adjust(o);
        Client client(ioc.get_executor(), o);
        out.result = co_await client.getConversation(guid(1));
        out.pool = client.stats().pool;
        co_return true;
    }());
    out.elapsed = Clock::now() - start;
    return out;
}

// `brokenConnection`: the HTTP exchange itself failed, so the connection must not be kept.
void expectError(const Outcome& o, Errc code, bool brokenConnection = true)
{
    BOOST_REQUIRE(o.result.has_error());
    BOOST_TEST(o.result.error().code == make_error_code(code), o.result.error().describe());
    BOOST_TEST(o.pool.inUse == 0u); // nothing leaked
    if (brokenConnection)
        BOOST_TEST(o.pool.idle == 0u);
    BOOST_TEST((o.elapsed < 3s)); // within the deadline (plus a margin)
}

void expectSuccessWithoutReuse(const Outcome& o)
{
    BOOST_REQUIRE_MESSAGE(o.result.has_value(), o.result.error().describe());
    BOOST_TEST(o.pool.idle == 0u); // valid, but the connection must not be reused
}

} // namespace

BOOST_AUTO_TEST_CASE(huge_headers)
{
    ScriptedServer s(rawResponse("200 OK", conversationJson, "X-Junk: " + std::string(64 * 1024, 'j') + "\r\n"));
    expectError(callOnce(s), Errc::responseTooLarge);
}

BOOST_AUTO_TEST_CASE(body_larger_than_the_limit)
{
    ScriptedServer s(rawResponse("200 OK", std::string(2 * 1024 * 1024, ' ')));
    expectError(callOnce(s), Errc::responseTooLarge);
}

BOOST_AUTO_TEST_CASE(endless_chunked_body)
{
    std::string chunks;
    for (int i = 0; i < 200; ++i)
        chunks += "40\r\n" + std::string(64, 'x') + "\r\n";
    ScriptedServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks);
    expectError(callOnce(s, [](ClientOptions& o) { o.maxResponseBodyBytes = 4096; }), Errc::responseTooLarge);
}

BOOST_AUTO_TEST_CASE(malformed_chunked_encoding)
{
    ScriptedServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n");
    expectError(callOnce(s), Errc::protocolError);
}

BOOST_AUTO_TEST_CASE(content_length_larger_than_the_body)
{
    ScriptedServer s("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"conversation\":", {.closeWithoutNotify = true});
    expectError(callOnce(s), Errc::connectionClosed);
}

BOOST_AUTO_TEST_CASE(content_length_that_never_arrives_times_out)
{
    ScriptedServer s("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"conversation\":");
    auto o = callOnce(s, [](ClientOptions& c) { c.timeout = 500ms; });
    expectError(o, Errc::timeout);
    BOOST_TEST((o.elapsed >= 500ms));
}

// The exchange reads its first bytes without looking at the clock (the socket's watch is on
// from the request): a peer that stalls still ends the call with the text of the part it
// stalled in, whichever limit is the nearest.
BOOST_AUTO_TEST_CASE(a_stalled_answer_times_out_with_the_text_of_the_part_it_stalled_in)
{
    ScriptedServer body("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"conversation\":");
    const auto byRead = callOnce(body, [](ClientOptions& c) { c.readTimeout = 300ms; });
    expectError(byRead, Errc::timeout);
    BOOST_TEST(byRead.result.error().message == "reading the response body timed out");
    const auto byDeadline = callOnce(body, [](ClientOptions& c) { c.timeout = 300ms; });
    expectError(byDeadline, Errc::timeout);
    BOOST_TEST(byDeadline.result.error().message == "reading the response body timed out");

    ScriptedServer headers("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
    const auto byHeaders = callOnce(headers, [](ClientOptions& c) { c.headersTimeout = 300ms; });
    expectError(byHeaders, Errc::timeout);
    BOOST_TEST(byHeaders.result.error().message == "waiting for the response headers timed out");
    BOOST_TEST((byHeaders.elapsed < 1500ms));
    const auto headersByDeadline = callOnce(headers, [](ClientOptions& c) { c.timeout = 300ms; });
    expectError(headersByDeadline, Errc::timeout);
    BOOST_TEST(headersByDeadline.result.error().message == "waiting for the response headers timed out");
}

BOOST_AUTO_TEST_CASE(no_content_length_body_until_close_and_http_1_0)
{
    ScriptedServer untilClose("HTTP/1.1 200 OK\r\n\r\n" + conversationJson, {.closeWithNotify = true});
    expectSuccessWithoutReuse(callOnce(untilClose));
    // Without close_notify the end of such a body cannot be told from a truncation attack.
    ScriptedServer truncated("HTTP/1.1 200 OK\r\n\r\n" + conversationJson, {.closeWithoutNotify = true});
    expectError(callOnce(truncated), Errc::connectionClosed);
    ScriptedServer http10("HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(conversationJson.size()) + "\r\n\r\n"
                          + conversationJson);
    expectSuccessWithoutReuse(callOnce(http10));
}

BOOST_AUTO_TEST_CASE(interim_100_continue_is_skipped)
{
    ScriptedServer s("HTTP/1.1 100 Continue\r\n\r\n" + rawResponse("200 OK", conversationJson));
    const auto o = callOnce(s);
    BOOST_REQUIRE_MESSAGE(o.result.has_value(), o.result.error().describe());
    BOOST_TEST(o.result->id == "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
}

BOOST_AUTO_TEST_CASE(answer_sent_before_the_request)
{
    ScriptedServer s(rawResponse("200 OK", conversationJson), {.answerBeforeRequest = true});
    const auto o = callOnce(s);
    BOOST_REQUIRE_MESSAGE(o.result.has_value(), o.result.error().describe()); // valid HTTP, read in order
}

BOOST_AUTO_TEST_CASE(status_200_with_bad_json)
{
    for (const std::string& body : {std::string("<html>oops</html>"), std::string(R"({"conversation":{"id":)"),
                                    std::string(10000, '[') + std::string(10000, ']'),
                                    std::string(R"({"conversation":{}})")}) {
        ScriptedServer s(rawResponse("200 OK", body));
        expectError(callOnce(s), Errc::decodeError, false); // valid HTTP: the connection stays usable
    }
}

BOOST_AUTO_TEST_CASE(one_byte_at_a_time_hits_the_deadline)
{
    ScriptedServer s(rawResponse("200 OK", conversationJson), {.trickle = 100ms});
    auto o = callOnce(s, [](ClientOptions& c) { c.timeout = 600ms; });
    expectError(o, Errc::timeout);
}

// An empty chunked body, one byte at a time: Beast's parser asserts (in builds with
// assertions, as the sanitizer builds are) when handed its last chunk again with one more
// byte; the client waits for the blank line that ends it (http_last_chunk.hpp).
BOOST_AUTO_TEST_CASE(an_empty_chunked_body_one_byte_at_a_time)
{
    ScriptedServer s("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                     {.trickle = 2ms});
    expectError(callOnce(s), Errc::decodeError, false); // whole, valid HTTP with an empty body
}

BOOST_AUTO_TEST_CASE(headers_and_read_timeouts_cut_a_slow_answer_short)
{
    ScriptedServer s(rawResponse("200 OK", conversationJson), {.trickle = 50ms});
    auto headers = callOnce(s, [](ClientOptions& c) { c.headersTimeout = 300ms; }); // deadline: 2 s
    expectError(headers, Errc::timeout);
    BOOST_TEST(headers.result.error().message.find("response headers") != std::string::npos);
    BOOST_TEST((headers.elapsed < 1500ms));

    auto read = callOnce(s, [](ClientOptions& c) { c.readTimeout = 300ms; });
    expectError(read, Errc::timeout);
    BOOST_TEST((read.elapsed < 1500ms));
}

BOOST_AUTO_TEST_CASE(expired_certificate)
{
    ScriptedServer s(rawResponse("200 OK", conversationJson), {.expiredCertificate = true});
    const auto o = callOnce(s);
    expectError(o, Errc::tlsHandshakeFailed);
    BOOST_TEST(o.result.error().message.find("expired") != std::string::npos, o.result.error().message);
    BOOST_TEST(s.requests() == 0);
}

BOOST_AUTO_TEST_CASE(tls_close_without_close_notify_after_a_full_answer)
{
    ScriptedServer s(rawResponse("200 OK", conversationJson), {.closeWithoutNotify = true});
    const auto o = callOnce(s);
    BOOST_REQUIRE_MESSAGE(o.result.has_value(), o.result.error().describe()); // Content-Length was complete
}

BOOST_AUTO_TEST_CASE(the_pool_recovers_after_a_broken_answer)
{
    // One connection, a server that breaks every other answer: the broken one is
    // discarded and the next call succeeds on a new connection.
    ScriptedServer s("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{", {.closeWithoutNotify = true});
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o;
        o.baseUrl = s.url();
        o.tls.caFile = s.caFile();
        o.pool.maxConnections = 1;
        o.retry = RetryPolicy::noRetry();
        Client client(ioc.get_executor(), o);
        for (int i = 0; i < 5; ++i) {
            auto r = co_await client.getConversation(guid(1));
            BOOST_TEST(r.error().code == make_error_code(Errc::connectionClosed));
        }
        const auto p = client.stats().pool;
        BOOST_TEST(p.connectionsOpened == 5u);
        BOOST_TEST(p.open == 0u);
        co_return true;
    }());
    BOOST_TEST(s.requests() == 5);
}

// Beast's parser bounds the header block and the body, but not a chunk extension, a
// trailer or a run of interim responses: the client's own byte budget must.
BOOST_AUTO_TEST_CASE(endless_chunk_extension_is_too_large_at_once)
{
    ScriptedServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10;", {.endless = "eeeeeeee"});
    const auto o = callOnce(s, [](ClientOptions& c) { c.timeout = 10s; });
    expectError(o, Errc::responseTooLarge);
}

BOOST_AUTO_TEST_CASE(endless_trailer_is_too_large_at_once)
{
    ScriptedServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: ", {.endless = "tttttttt"});
    const auto o = callOnce(s, [](ClientOptions& c) { c.timeout = 10s; });
    expectError(o, Errc::responseTooLarge);
}

BOOST_AUTO_TEST_CASE(a_flood_of_interim_responses_is_a_protocol_error)
{
    ScriptedServer s("", {.endless = "HTTP/1.1 100 Continue\r\n\r\n"});
    const auto o = callOnce(s, [](ClientOptions& c) { c.timeout = 10s; });
    expectError(o, Errc::protocolError);
    BOOST_TEST(o.result.error().message.find("interim") != std::string::npos, o.result.error().message);
}

// A peer that never stops sending, within every size limit (chunks of one byte behind 4 KiB
// extensions): the deadline still ends the call, whatever is still arriving.
BOOST_AUTO_TEST_CASE(the_deadline_ends_a_call_whatever_the_peer_keeps_sending)
{
    const std::string chunk = "1;" + std::string(4000, 'e') + "\r\nx\r\n";
    ScriptedServer s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", {.endless = chunk});
    for (const bool perAttempt : {false, true}) {
        const auto o = callOnce(s, [&](ClientOptions& c) {
            c.maxResponseBodyBytes = std::size_t{1} << 40; // only time can end it
            c.timeout = perAttempt ? 10s : 300ms;
            if (perAttempt)
                c.readTimeout = 300ms;
        });
        expectError(o, Errc::timeout);
        // Well before the peer would stop (never) or the per-attempt case's 10 s deadline; the
        // margin is for a loaded machine under the sanitizers.
        BOOST_TEST((o.elapsed < 2s), std::chrono::duration<double>(o.elapsed).count() << " s");
    }
}

// What a server says is data: an error text that echoes the request must not carry the
// caller's credentials.
BOOST_AUTO_TEST_CASE(secrets_echoed_by_the_server_are_redacted)
{
    const std::string key = "sk-very-secret-key-0123456789";
    const std::string body = R"({"message":"bad request from Authorization: )" + key
                           + R"(","details":{"validationError":{"fieldViolations":[{"field":"h","description":"got )" + key
                           + R"(","violatedRule":"FORMAT","ruleName":"R"}]}}})";
    ScriptedServer s(rawResponse("400 Bad Request", body, "X-Wix-Request-Id: " + key + "\r\n"));
    const auto o = callOnce(s, [&](ClientOptions& c) { c.credentials = ApiKey{key, guid(9), {}}; });
    BOOST_REQUIRE(o.result.has_error());
    const auto& e = o.result.error();
    BOOST_TEST(e.httpStatus == 400);
    BOOST_TEST(e.describe().find(key) == std::string::npos, e.describe());
    BOOST_TEST(e.describe().find("[redacted]") != std::string::npos, e.describe());
    BOOST_REQUIRE(e.fieldViolations.size() == 1u);
    BOOST_TEST(e.fieldViolations[0].description == "got [redacted]");
    BOOST_TEST(e.requestId == "[redacted]");
}

// A server may change a secret's case when it echoes it (an upper-cased header dump): it is
// still the secret.
BOOST_AUTO_TEST_CASE(secrets_echoed_in_another_case_are_redacted)
{
    const std::string key = "sk-Very-Secret-Key-0123456789";
    std::string upper = key, lower = key;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::string body = R"({"message":"AUTHORIZATION: )" + upper + " authorization: " + lower + R"( done"})";
    ScriptedServer s(rawResponse("400 Bad Request", body, "X-Wix-Request-Id: " + upper + "\r\n"));
    const auto o = callOnce(s, [&](ClientOptions& c) { c.credentials = ApiKey{key, guid(9), {}}; });
    BOOST_REQUIRE(o.result.has_error());
    const auto& e = o.result.error();
    BOOST_TEST(e.message == "AUTHORIZATION: [redacted] authorization: [redacted] done");
    BOOST_TEST(e.requestId == "[redacted]");
}

BOOST_AUTO_TEST_CASE(an_id_from_the_server_that_is_not_a_guid_is_a_decode_error)
{
    ScriptedServer s(rawResponse(
        "200 OK",
        R"({"conversation":{"id":"../../etc/passwd","participant":{},"channels":[],"businessDisplayData":{"name":"b"}}})"));
    const auto o = callOnce(s);
    expectError(o, Errc::decodeError, false);
    BOOST_TEST(o.result.error().message.find("'conversation.id' is not a GUID") != std::string::npos,
               o.result.error().message);
}

BOOST_AUTO_TEST_CASE(guids_are_sent_in_lower_case)
{
    ScriptedServer s(rawResponse("200 OK", conversationJson));
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o;
        o.baseUrl = s.url();
        o.tls.caFile = s.caFile();
        Client client(ioc.get_executor(), o);
        co_await client.getConversation("6202C3BB-1A2B-4C3D-8E9F-0A1B2C3D4E5F");
        BOOST_TEST(s.lastRequest().find("GET /inbox/v2/conversations/6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f ")
                   != std::string::npos, s.lastRequest());
        co_await client.getOrCreateConversation(ParticipantId::contact("ABCDEF00-1A2B-4C3D-8E9F-0A1B2C3D4E5F"));
        BOOST_TEST(s.lastRequest().find(R"("contactId":"abcdef00-1a2b-4c3d-8e9f-0a1b2c3d4e5f")") != std::string::npos,
                   s.lastRequest());
        co_return true;
    }());
}
