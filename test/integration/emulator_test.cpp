// SPDX-License-Identifier: BSL-1.0
// The emulator's wire contract, checked with a plain HTTPS client (not our library).
#define BOOST_TEST_MODULE emulator
#include <boost/test/unit_test.hpp>

#include "test_base64url.hpp"
#include "raw_client.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <future>
#include <thread>
#include <utility>

#include <wix/inbox/emulator.hpp>
#include <wix/inbox/model.hpp>

using wix::inbox::isValidGuid;
using wix::inbox::emulator::Emulator;
using wix::inbox::emulator::Options;
using test::rawExchange;
using test::rawRequest;
namespace json = boost::json;

namespace {

const std::string member = "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f";

test::RawResponse send(const Emulator& e, const std::string& request)
{
    return rawExchange(e.port(), e.caFile(), request);
}

test::RawResponse createMember(const Emulator& e, const std::string& prefix = "")
{
    return send(e, rawRequest("POST", prefix + "/inbox/v2/conversations",
                              R"({"participantId":{"memberId":")" + member + R"("}})"));
}

json::object bodyOf(const test::RawResponse& r)
{
    return json::parse(r.body).as_object();
}

} // namespace

BOOST_AUTO_TEST_CASE(get_or_create_contract)
{
    Emulator emu;
    const auto created = createMember(emu);
    BOOST_REQUIRE_MESSAGE(created.status == 200, created.error + created.body);
    BOOST_TEST(created.headers.at("content-type") == "application/json");
    BOOST_TEST(!created.headers.at("x-wix-request-id").empty());
    const auto body = bodyOf(created);
    BOOST_TEST(body.at("newConversation").as_bool());
    const auto& c = body.at("conversation").as_object();
    BOOST_TEST(isValidGuid(c.at("id").as_string()));
    BOOST_TEST(c.at("participant").at("memberId").as_string() == member);
    BOOST_TEST(isValidGuid(c.at("participant").at("contactId").as_string())); // members carry a contact
    BOOST_TEST(c.at("channels").as_array().size() == 1u);
    BOOST_TEST(!c.at("businessDisplayData").at("name").as_string().empty());

    const auto again = createMember(emu, "/crm"); // the JS SDK's prefix for non-Wix hosts
    BOOST_REQUIRE(again.status == 200);
    BOOST_TEST(!bodyOf(again).at("newConversation").as_bool());
    BOOST_TEST(bodyOf(again).at("conversation").at("id") == c.at("id"));
    BOOST_TEST(again.headers.at("x-wix-request-id") != created.headers.at("x-wix-request-id"));
}

// A test waits for what the emulator did: woken by the change, or told none came in time.
BOOST_AUTO_TEST_CASE(wait_for_wakes_on_the_change_it_waits_for_and_ends_at_its_timeout)
{
    using wix::inbox::emulator::Stats;
    Emulator emu;
    // A request's effects are counted before the request itself.
    const auto twoAnswered = [](const Stats& s) { return s.conversations >= 2 && s.requests >= 2; };
    BOOST_TEST(!emu.waitFor(twoAnswered, std::chrono::milliseconds(20)).has_value());
    // The act starts once the waiter has looked and found nothing. A waiter not woken would
    // still find the state at its deadline (60 s): the time tells it was woken (the margin is
    // for a loaded machine).
    const auto woken = [&](const std::function<bool(const Stats&)>& until, const std::function<void()>& act) {
        std::promise<void> looked;
        std::thread actor([&act, firstLook = looked.get_future()] {
            firstLook.wait();
            act();
        });
        bool first = true;
        const auto started = std::chrono::steady_clock::now();
        auto reached = emu.waitFor([&](const Stats& s) {
            if (std::exchange(first, false))
                looked.set_value();
            return until(s);
        });
        const auto waited = std::chrono::steady_clock::now() - started;
        actor.join();
        BOOST_TEST((waited < std::chrono::seconds(30)));
        return reached;
    };
    const auto answered = woken(twoAnswered, [&] {
        createMember(emu);
        send(emu, rawRequest("POST", "/inbox/v2/conversations",
                             R"({"participantId":{"contactId":"00000000-0000-4000-8000-000000000009"}})"));
    });
    BOOST_REQUIRE(answered.has_value());
    BOOST_TEST(answered->conversations == 2u);
    BOOST_TEST(answered->requests == 2u);
    // An in-process admin call wakes it as well.
    const auto played = woken([](const Stats& s) { return s.messages >= 1; }, [&] {
        emu.admin("POST", "/_emulator/participant-message",
                  R"({"participant":{"memberId":")" + member + R"("},"text":"hi"})");
    });
    BOOST_REQUIRE(played.has_value());
    BOOST_TEST(played->messages == 1u);
}

BOOST_AUTO_TEST_CASE(get_conversation_contract)
{
    Emulator emu;
    const std::string id(bodyOf(createMember(emu)).at("conversation").at("id").as_string());
    for (const std::string& target : {"/inbox/v2/conversations/" + id, "/crm/inbox/v2/conversations/" + id,
                                     "/inbox/v2/conversations/" + id + "?conversationId=" + id}) {
        const auto r = send(emu, rawRequest("GET", target));
        BOOST_REQUIRE_MESSAGE(r.status == 200, target);
        BOOST_TEST(bodyOf(r).at("conversation").at("id").as_string() == id);
        BOOST_TEST(!bodyOf(r).contains("newConversation"));
    }
    const auto missing = send(emu, rawRequest("GET", "/inbox/v2/conversations/" + member));
    BOOST_TEST(missing.status == 404);
    BOOST_TEST(bodyOf(missing).at("details").at("applicationError").at("code").as_string() == "CONVERSATION_NOT_FOUND");
    BOOST_TEST(!missing.headers.at("x-wix-request-id").empty());
}

BOOST_AUTO_TEST_CASE(validation_errors)
{
    Emulator emu;
    struct Case {
        std::string body;
        std::string field;
        std::string rule;
    };
    const std::vector<Case> cases{
        {"not json", "participantId", "REQUIRED_FIELD"},
        {"{}", "participantId", "REQUIRED_FIELD"},
        {R"({"participantId":{}})", "participantId", "ONE_OF"},
        {R"({"participantId":{"memberId":")" + member + R"(","contactId":")" + member + R"("}})", "participantId", "ONE_OF"},
        {R"({"participantId":{"memberId":"nope"}})", "participantId.memberId", "FORMAT"},
        {R"({"participantId":{"contactId":42}})", "participantId.contactId", "FORMAT"},
    };
    for (const auto& c : cases) {
        const auto r = send(emu, rawRequest("POST", "/inbox/v2/conversations", c.body));
        BOOST_TEST_REQUIRE(r.status == 400, c.body);
        const auto body = bodyOf(r);
        const auto& v = body.at("details").at("validationError").at("fieldViolations").at(0);
        BOOST_TEST(v.at("field").as_string() == c.field, c.body);
        BOOST_TEST(v.at("violatedRule").as_string() == c.rule, c.body);
    }
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/conversations/not-a-guid")).status == 400);
    BOOST_TEST(send(emu, rawRequest("DELETE", "/inbox/v2/conversations/" + member)).status == 405);
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/other")).status == 404);
    BOOST_TEST(emu.stats().conversations == 0u);
}

// The route table: each path shape answers its own method, 405 the others, 404 any other
// shape; the stats count each request under its route's name.
BOOST_AUTO_TEST_CASE(routes_match_whole_path_shapes)
{
    Emulator emu;
    const std::string id = "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/conversations/" + id + "/")).status == 404); // the route, no such conversation
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/conversations/" + id + "/extra")).status == 404);
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/conversations")).status == 405);
    BOOST_TEST(send(emu, rawRequest("POST", "/inbox/v2/conversations/" + id)).status == 405);
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/conversations//")).status == 404);
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2conversations/" + id)).status == 404);
    const auto byRoute = emu.stats().byRoute;
    BOOST_TEST(byRoute.at("getConversation") == 2u);        // the first and the POST on its path
    BOOST_TEST(byRoute.at("getOrCreateConversation") == 1u); // the GET on its path
    BOOST_TEST(byRoute.at("unknown") == 3u);
    BOOST_TEST(bodyOf(send(emu, rawRequest("GET", "/inbox/v2/conversations/" + id + "/extra")))
                   .at("details").at("applicationError").at("code").as_string() == "NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(oversized_requests_are_refused)
{
    Emulator emu;
    const auto headers = send(emu, rawRequest("GET", "/inbox/v2/conversations/" + member, "",
                                              "X-Big: " + std::string(20000, 'a') + "\r\n"));
    BOOST_TEST(headers.status == 431);
    const auto body = send(emu, rawRequest("POST", "/inbox/v2/conversations", std::string(Options{}.maxBodyBytes + 1, ' ')));
    BOOST_TEST(body.status == 413);
    BOOST_TEST(createMember(emu).status == 200); // and the emulator lives on
}

// What Beast does not bound (chunk extensions, trailers, the framing of many small chunks)
// is bounded by the emulator: 413 with the envelope, however long the peer goes on.
BOOST_AUTO_TEST_CASE(endless_chunk_extensions_and_trailers_are_refused)
{
    Emulator emu;
    const std::string head = "POST /inbox/v2/conversations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::size_t beyond = Options{}.maxHeaderBytes + Options{}.maxBodyBytes + 1024;
    std::string manyChunks;
    while (manyChunks.size() < beyond) // the framing of a 70-byte body, beyond every limit
        manyChunks += "1;" + std::string(4000, 'e') + "\r\nx\r\n";
    for (const std::string& request : {head + "10;" + std::string(beyond, 'e'),
                                       head + "1\r\n{\r\n0\r\nX-Trailer: " + std::string(beyond, 't'),
                                       head + manyChunks}) {
        const auto r = send(emu, request);
        BOOST_TEST(r.status == 413);
        BOOST_TEST(bodyOf(r).contains("details"), r.body);
        BOOST_TEST(r.headers.at("connection") == "close");
    }
    BOOST_TEST(emu.stats().byStatus.at(413) == 3u);
    BOOST_TEST(createMember(emu).status == 200);
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400_with_the_envelope)
{
    Emulator emu;
    const std::string target = "/inbox/v2/conversations/" + member;
    for (const std::string& request : std::vector<std::string>{
             "GARBAGE\r\n\r\n",
             "GET " + target + " HTTP/9.9\r\nHost: x\r\n\r\n",
             "POST /inbox/v2/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
             "POST /inbox/v2/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
             // request smuggling: both framings at once
             "POST /inbox/v2/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
             "POST /inbox/v2/conversations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
             "GET " + target + " HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n"}) {
        BOOST_TEST_CONTEXT(request)
        {
            const auto r = send(emu, request);
            BOOST_TEST(r.status == 400);
            BOOST_TEST(r.body.find("\"validationError\"") != std::string::npos, r.body);
            BOOST_TEST(r.body.find("malformed request") != std::string::npos, r.body);
        }
    }
    BOOST_TEST(createMember(emu).status == 200);
}

BOOST_AUTO_TEST_CASE(guids_are_compared_whatever_their_case)
{
    Emulator emu;
    std::string upper = member;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    const auto created = createMember(emu);
    const auto again = send(emu, rawRequest("POST", "/inbox/v2/conversations",
                                            R"({"participantId":{"memberId":")" + upper + R"("}})"));
    BOOST_REQUIRE(again.status == 200);
    const std::string id(bodyOf(created).at("conversation").at("id").as_string());
    BOOST_TEST(bodyOf(again).at("conversation").at("id").as_string() == id);
    BOOST_TEST(bodyOf(again).at("newConversation").as_bool() == false);
    std::string upperId = id;
    std::transform(upperId.begin(), upperId.end(), upperId.begin(), [](unsigned char c) { return std::toupper(c); });
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/conversations/" + upperId)).status == 200);
}

BOOST_AUTO_TEST_CASE(slow_clients_are_cut_off)
{
    Options o;
    o.requestTimeout = std::chrono::milliseconds(300);
    Emulator emu(o);
    const auto start = std::chrono::steady_clock::now();
    // Headers that never end: the emulator gives up on the request, not the client.
    const auto r = send(emu, "GET /inbox/v2/conversations/" + member + " HTTP/1.1\r\nHost: x\r\n");
    BOOST_TEST(r.status == 0);
    BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(3)));
    BOOST_TEST(createMember(emu).status == 200);
}

BOOST_AUTO_TEST_CASE(admin_endpoints)
{
    Emulator emu;
    createMember(emu);
    send(emu, rawRequest("GET", "/inbox/v2/conversations/" + member));
    const auto stats = bodyOf(send(emu, rawRequest("GET", "/_emulator/stats")));
    BOOST_TEST(stats.at("byRoute").at("getOrCreateConversation").as_int64() == 1);
    BOOST_TEST(stats.at("byRoute").at("getConversation").as_int64() == 1);
    BOOST_TEST(stats.at("byStatus").at("404").as_int64() == 1);
    BOOST_TEST(stats.at("conversations").as_int64() == 1);

    // Settings use the flags' names; a refusal names the setting at fault.
    const auto refusedField = [&](const std::string& body) {
        const auto r = send(emu, rawRequest("POST", "/_emulator/faults", body));
        BOOST_TEST(r.status == 400);
        return std::string(bodyOf(r).at("details").at("validationError").at("fieldViolations").at(0).at("field").as_string());
    };
    BOOST_TEST(refusedField(R"({"fault-503":2})") == "fault-503");
    BOOST_TEST(refusedField(R"({"fault-05":0.5})") == "faults"); // the body: a key may be anything
    BOOST_TEST(refusedField(R"({"retry-after":-1})") == "retry-after");
    BOOST_TEST(refusedField(R"({"latency-min-ms":50,"latency-max-ms":10})") == "latency-max-ms");
    BOOST_TEST(refusedField("[]") == "faults");
    const auto set = send(emu, rawRequest("POST", "/_emulator/faults", R"({"fault-503":1,"retry-after":7})"));
    BOOST_TEST(set.status == 200);
    BOOST_TEST(set.body.find(R"("fault-503":1,)") != std::string::npos, set.body); // not 1E0
    BOOST_TEST(set.body.find(R"("fault-500":0,)") != std::string::npos, set.body);
    const auto faulted = createMember(emu);
    BOOST_TEST(faulted.status == 503);
    BOOST_TEST(faulted.headers.at("retry-after") == "7");
    BOOST_TEST(emu.stats().faults.at("fault-503") == 1u);
    BOOST_TEST(send(emu, rawRequest("POST", "/_emulator/faults", R"({"fault-503":0.5})")).body.find(R"("fault-503":0.5,)")
               != std::string::npos);

    BOOST_TEST(send(emu, rawRequest("POST", "/_emulator/reset")).status == 200);
    BOOST_TEST(emu.stats().conversations == 0u);
    BOOST_TEST(emu.stats().requests == 1u); // the reset request itself
}

// An unknown key is the client's text: named once in the message, cut short and escaped.
BOOST_AUTO_TEST_CASE(an_unknown_setting_is_named_once_bounded_and_escaped)
{
    Emulator emu;
    const std::string tail(20'000, 'x');
    const auto r = send(emu, rawRequest("POST", "/_emulator/faults", R"({"fault-\u001b]0;pwned\u0007)" + tail + R"(": 1})"));
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.body.size() < 1'000u, r.body.size()); // not the 20 KB key, nor thrice
    const auto body = bodyOf(r);
    const std::string message(body.at("message").as_string());
    BOOST_TEST(message
               == "unknown setting 'fault-\\x1b]0;pwned\\x07" + std::string(64 - 16, 'x')
                      + "' (its first 64 of " + std::to_string(16 + tail.size()) + " bytes) (GET /_emulator/faults lists them)");
    BOOST_TEST(body.at("details").at("validationError").at("fieldViolations").at(0).at("field").as_string() == "faults");
    BOOST_TEST(r.body.find("\\u001b") == std::string::npos, r.body); // decoded, \u001b would print an ESC
}

// A known path asked with a method it does not take is 405 with the methods it takes (HTTP
// requires Allow), not 404: the path is right, the method is the mistake.
BOOST_AUTO_TEST_CASE(a_method_an_endpoint_does_not_take_is_405_with_allow)
{
    Emulator emu;
    BOOST_TEST(createMember(emu).status == 200);
    struct Case {
        std::string method, path, allow;
    };
    for (const auto& c : std::vector<Case>{{"PUT", "/_emulator/faults", "GET, POST"},
                                           {"DELETE", "/_emulator/faults", "GET, POST"},
                                           {"PATCH", "/_emulator/faults", "GET, POST"},
                                           {"DELETE", "/_emulator/reset", "POST"},
                                           {"GET", "/_emulator/reset", "POST"},
                                           {"POST", "/_emulator/stats", "GET"},
                                           {"GET", "/oauth2/token", "POST"}}) {
        BOOST_TEST_CONTEXT(c.method << " " << c.path)
        {
            const auto r = send(emu, rawRequest(c.method, c.path, c.method == "GET" ? "" : "{}"));
            BOOST_TEST(r.status == 405);
            BOOST_TEST(r.headers.count("allow") == 1u);
            if (r.headers.count("allow"))
                BOOST_TEST(r.headers.at("allow") == c.allow);
            BOOST_TEST(bodyOf(r).at("details").at("applicationError").at("code").as_string() == "METHOD_NOT_ALLOWED");
        }
    }
    BOOST_TEST(emu.stats().conversations == 1u); // DELETE /_emulator/reset reset nothing
    const auto unknown = send(emu, rawRequest("PUT", "/_emulator/nothing-here", "{}"));
    BOOST_TEST(unknown.status == 404);
    BOOST_TEST(unknown.headers.count("allow") == 0u);
}

BOOST_AUTO_TEST_CASE(faults_are_observable_and_reproducible_by_seed)
{
    Options o;
    o.faults.seed = 42;
    o.faults.status429 = 0.2;
    o.faults.status500 = 0.2;
    o.faults.truncatedBody = 0.1;
    o.faults.closeBeforeResponse = 0.1;
    o.faults.malformedJson = 0.1;
    o.faults.retryAfterAsDate = true;
    auto sequence = [&] {
        Emulator emu(o);
        std::vector<int> statuses;
        for (int i = 0; i < 40; ++i) {
            const auto r = createMember(emu);
            statuses.push_back(r.status);
            if (r.status == 429)
                BOOST_TEST(r.headers.at("retry-after").ends_with(" GMT")); // HTTP-date form
            if (r.status == 200 && r.body.front() == '{' && r.body.back() != '}')
                statuses.back() = -1; // malformed JSON body
        }
        const auto s = emu.stats();
        std::uint64_t injected = 0;
        for (const auto& [kind, n] : s.faults)
            injected += n;
        BOOST_TEST(injected > 0u);
        return statuses;
    };
    const auto first = sequence();
    BOOST_TEST(first == sequence()); // same seed, same faults
    BOOST_TEST(std::count(first.begin(), first.end(), 0) > 0);   // closed or truncated
    BOOST_TEST(std::count(first.begin(), first.end(), 429) > 0);
    BOOST_TEST(std::count(first.begin(), first.end(), 500) > 0);
}

BOOST_AUTO_TEST_CASE(promotion_creates_a_new_conversation_and_merges_the_old_one)
{
    Emulator emu;
    const std::string visitor = "11111111-0000-4000-8000-000000000001";
    const std::string contact = "22222222-0000-4000-8000-000000000002";
    const std::string memberId = "33333333-0000-4000-8000-000000000003";
    auto getOrCreate = [&](const std::string& field, const std::string& id) {
        const auto r = send(emu, rawRequest("POST", "/inbox/v2/conversations",
                                            R"({"participantId":{")" + field + R"(":")" + id + R"("}})"));
        BOOST_REQUIRE(r.status == 200);
        return bodyOf(r);
    };
    auto promote = [&](const std::string& fromField, const std::string& from, const std::string& toField,
                       const std::string& to) {
        return send(emu, rawRequest("POST", "/_emulator/promote",
                                    R"({"from":{")" + fromField + R"(":")" + from + R"("},"to":{")" + toField
                                        + R"(":")" + to + R"("}})"));
    };

    const auto asVisitor = getOrCreate("anonymousVisitorId", visitor);
    const std::string visitorConversation(asVisitor.at("conversation").at("id").as_string());
    const auto promoted = promote("anonymousVisitorId", visitor, "contactId", contact);
    BOOST_REQUIRE(promoted.status == 200);
    BOOST_TEST(bodyOf(promoted).at("mergedConversationId").as_string() == visitorConversation);

    const auto asContact = getOrCreate("contactId", contact);
    BOOST_TEST(asContact.at("newConversation").as_bool()); // a new conversation with a new ID
    const std::string contactConversation(asContact.at("conversation").at("id").as_string());
    BOOST_TEST(contactConversation != visitorConversation);
    BOOST_TEST(send(emu, rawRequest("GET", "/inbox/v2/conversations/" + visitorConversation)).status == 404);
    // The old identity now resolves to the participant's current conversation.
    const auto againAsVisitor = getOrCreate("anonymousVisitorId", visitor);
    BOOST_TEST(!againAsVisitor.at("newConversation").as_bool());
    BOOST_TEST(againAsVisitor.at("conversation").at("id").as_string() == contactConversation);

    BOOST_REQUIRE(promote("contactId", contact, "memberId", memberId).status == 200);
    const auto asMember = getOrCreate("memberId", memberId);
    BOOST_TEST(asMember.at("newConversation").as_bool());
    BOOST_TEST(asMember.at("conversation").at("participant").at("contactId").as_string() == contact);
    BOOST_TEST(getOrCreate("anonymousVisitorId", visitor).at("conversation").at("id")
               == asMember.at("conversation").at("id")); // visitor -> contact -> member

    BOOST_TEST(promote("memberId", memberId, "contactId", contact).status == 400); // never backwards
    BOOST_TEST(send(emu, rawRequest("POST", "/_emulator/promote", "{}")).status == 400);
}

BOOST_AUTO_TEST_CASE(bulk_seed)
{
    Emulator emu;
    const std::string body =
        R"({"participants":[{"memberId":"00000000-0000-4000-8000-000000000001"},{"contactId":"00000000-0000-4000-8000-000000000002"},{"anonymousVisitorId":"00000000-0000-4000-8000-000000000003"}]})";
    const auto first = send(emu, rawRequest("POST", "/_emulator/seed", body));
    BOOST_REQUIRE(first.status == 200);
    BOOST_TEST(bodyOf(first).at("created").as_int64() == 3);
    BOOST_TEST(bodyOf(send(emu, rawRequest("POST", "/_emulator/seed", body))).at("existing").as_int64() == 3);
    BOOST_TEST(emu.stats().conversations == 3u);
    BOOST_TEST(send(emu, rawRequest("POST", "/_emulator/seed", R"({"participants":[{"memberId":"x"}]})")).status == 400);
    const auto existing = createMember(emu); // not in the seed: created now
    BOOST_TEST(bodyOf(existing).at("newConversation").as_bool());
}

BOOST_AUTO_TEST_CASE(each_connection_fault_is_seen_by_a_client_and_counted)
{
    struct Case {
        double wix::inbox::emulator::Faults::*fault;
        std::string name;
    };
    using F = wix::inbox::emulator::Faults;
    for (const auto& [fault, name] : std::vector<Case>{{&F::resetMidBody, "fault-reset"},
                                                       {&F::truncatedBody, "fault-truncate"},
                                                       {&F::closeBeforeResponse, "fault-close"}}) {
        Options o;
        o.faults.*fault = 1.0;
        Emulator emu(o);
        const auto r = createMember(emu);
        BOOST_TEST(r.status == 0, name); // no complete response reached the client
        BOOST_TEST(!r.error.empty(), name);
        BOOST_TEST(emu.stats().faults.at(name) == 1u, name);
    }
}

// The service's limit, per tenant: one site's requests do not use up another's.
BOOST_AUTO_TEST_CASE(the_rate_limit_is_per_tenant_and_settable_at_run_time)
{
    Emulator emu;
    const auto set = send(emu, rawRequest("POST", "/_emulator/faults", R"({"rate-limit":"2/min"})"));
    BOOST_REQUIRE(set.status == 200);
    BOOST_TEST(set.body.find(R"("rate-limit":"2/min")") != std::string::npos, set.body);
    const auto asSite = [&](const std::string& site) {
        return send(emu, rawRequest("POST", "/inbox/v2/conversations",
                                    R"({"participantId":{"memberId":")" + member + R"("}})",
                                    "Authorization: the-secret-key\r\nwix-site-id: " + site + "\r\n"));
    };
    BOOST_TEST(asSite("a").status == 200);
    BOOST_TEST(asSite("a").status == 200);
    const auto over = asSite("a");
    BOOST_TEST(over.status == 429);
    BOOST_TEST(bodyOf(over).at("details").at("applicationError").at("code").as_string() == "TOO_MANY_REQUESTS");
    BOOST_TEST(!over.headers.contains("retry-after")); // as the service: none documented
    BOOST_TEST(asSite("b").status == 200);             // another tenant, its own budget
    const auto stats = send(emu, rawRequest("GET", "/_emulator/stats"));
    BOOST_TEST(bodyOf(stats).at("throttledByTenant").at("site:a").as_int64() == 1);
    BOOST_TEST(stats.body.find("the-secret-key") == std::string::npos); // tenants are labels, not keys

    BOOST_TEST(send(emu, rawRequest("POST", "/_emulator/faults", R"({"rate-limit-retry-after":true})")).status == 200);
    BOOST_TEST(asSite("a").headers.at("retry-after") == "30");
    BOOST_TEST(send(emu, rawRequest("POST", "/_emulator/faults", R"({"rate-limit":"fast"})")).status == 400);
    BOOST_TEST(send(emu, rawRequest("POST", "/_emulator/faults", R"({"rate-limit":"off"})")).status == 200);
    BOOST_TEST(asSite("a").status == 200);
}

using test::base64url;

// ListMessages takes both query forms the official SDK sends: plain parameters, and the
// whole request as `.r=<base64url JSON>`; both page the same way.
BOOST_AUTO_TEST_CASE(list_messages_takes_both_query_forms)
{
    Emulator emu;
    const auto created = bodyOf(createMember(emu));
    const std::string id(created.at("conversation").at("id").as_string());
    for (int i = 1; i <= 3; ++i) {
        const auto sent = send(emu, rawRequest("POST", "/inbox/v2/messages",
                                               R"({"conversationId":")" + id + R"(","message":{"content":{"basic":{"items":[{"text":"m)"
                                                   + std::to_string(i) + R"("}]}},"visibility":"BUSINESS","direction":"BUSINESS_TO_PARTICIPANT"}})"));
        BOOST_REQUIRE_MESSAGE(sent.status == 200, sent.body);
        BOOST_TEST(bodyOf(sent).at("message").at("sequence").as_string() == std::to_string(i));
    }
    auto texts = [](const json::object& page) {
        std::string out;
        for (const auto& m : page.at("messages").as_array())
            out += std::string(m.at("content").at("basic").at("items").at(0).at("text").as_string()) + " ";
        return out;
    };
    const auto plain = send(emu, rawRequest("GET", "/crm/inbox/v2/messages?conversationId=" + id
                                                       + "&visibility=BUSINESS&paging.limit=2&sorting.fieldName=sequence&sorting.order=ASC"));
    BOOST_REQUIRE_MESSAGE(plain.status == 200, plain.body);
    BOOST_TEST(texts(bodyOf(plain)) == "m1 m2 ");
    const std::string next(bodyOf(plain).at("pagingMetadata").at("cursors").at("next").as_string());

    // The next page in the SDK's form, cursor and all.
    const std::string request = R"({"conversationId":")" + id + R"(","visibility":"BUSINESS","paging":{"limit":2,"cursor":")" + next
                              + R"("},"sorting":{"fieldName":"sequence","order":"ASC"}})";
    const auto encoded = send(emu, rawRequest("GET", "/inbox/v2/messages?.r=" + base64url(request)));
    BOOST_REQUIRE_MESSAGE(encoded.status == 200, encoded.body);
    BOOST_TEST(texts(bodyOf(encoded)) == "m3 ");
    BOOST_TEST(bodyOf(encoded).at("pagingMetadata").at("cursors").at("next").is_null());
    BOOST_TEST(bodyOf(encoded).at("pagingMetadata").at("count").as_int64() == 1);

    // Newest first by default; 30 per page at most unless asked.
    const auto byDefault = send(emu, rawRequest("GET", "/inbox/v2/messages?conversationId=" + id + "&visibility=BUSINESS"));
    BOOST_TEST(texts(bodyOf(byDefault)) == "m3 m2 m1 ");

    for (const std::string& query : std::vector<std::string>{".r=%%%", ".r=" + base64url("[1]"), ".r=not*base64", "visibility=BUSINESS",
                                     "conversationId=" + id, "conversationId=" + id + "&visibility=ALL",
                                     "conversationId=" + id + "&visibility=BUSINESS&paging.limit=101",
                                     "conversationId=" + id + "&visibility=BUSINESS&paging.limit=two",
                                     "conversationId=" + id + "&visibility=BUSINESS&sorting.fieldName=createdDate",
                                     "conversationId=" + id + "&visibility=BUSINESS&sorting.order=UP",
                                     "conversationId=" + id + "&visibility=BUSINESS&paging.cursor=" + next + "x",
                                     "conversationId=" + id + "&visibility=BUSINESS_AND_PARTICIPANT&paging.cursor=" + next}) {
        const auto refused = send(emu, rawRequest("GET", "/inbox/v2/messages?" + query));
        BOOST_TEST(refused.status == 400, query << ": " << refused.body);
        BOOST_TEST(bodyOf(refused).at("details").as_object().contains("validationError"), query);
    }
}

// SendMessage's text limit, in UTF-16 code units as the service's platforms count them.
BOOST_AUTO_TEST_CASE(send_message_limits_text_length)
{
    Emulator emu;
    const std::string id(bodyOf(createMember(emu)).at("conversation").at("id").as_string());
    auto sendText = [&](const std::string& text) {
        return send(emu, rawRequest("POST", "/inbox/v2/messages",
                                    R"({"conversationId":")" + id + R"(","message":{"content":{"minimal":{"text":")" + text
                                        + R"("}},"visibility":"BUSINESS","direction":"BUSINESS_TO_PARTICIPANT"}})"))
            .status;
    };
    std::string emoji;
    for (int i = 0; i < 8192; ++i)
        emoji += "\xF0\x9F\x98\x80";
    BOOST_TEST(sendText(std::string(16384, 'a')) == 200);
    BOOST_TEST(sendText(std::string(16385, 'a')) == 400);
    BOOST_TEST(sendText(emoji) == 200);
    BOOST_TEST(sendText(emoji + "a") == 400);
    BOOST_TEST(sendText("") == 400);
}
