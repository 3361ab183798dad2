// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE ndjson
#include <boost/test/unit_test.hpp>

#include "cli/ndjson.hpp"

#include <boost/json/parse.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace wix::inbox::cli;
namespace json = boost::json;

namespace {
const std::string guid = "6202c3bb-1a2b-4c3d-8e9f-0123456789ab";
}

BOOST_AUTO_TEST_CASE(other_fields_are_copied_to_the_output_line)
{
    auto parsed = parseBatchLine(R"({"rowKey": 34, "memberId": ")" + guid + R"(", "tags": ["a"]})");
    const auto* request = std::get_if<BatchRequest>(&parsed);
    BOOST_REQUIRE(request);
    BOOST_REQUIRE(request->participant.has_value());
    const auto out = json::parse(okLine(9, request->passthrough, {{"newConversation", true}})).as_object();
    BOOST_TEST(out.at("line").as_int64() == 9);
    BOOST_TEST(out.at("rowKey").as_int64() == 34);
    BOOST_TEST(out.at("tags").as_array().size() == 1u);
    BOOST_TEST(out.at("ok").as_bool());
    BOOST_TEST(out.at("newConversation").as_bool());
    BOOST_TEST(!out.contains("memberId"));
}

// A user field named like one the output writes would overwrite it ("line" breaks --resume).
BOOST_AUTO_TEST_CASE(fields_the_output_writes_are_rejected_by_name)
{
    for (const std::string name : {"line", "ok", "error", "conversation", "newConversation"}) {
        const auto parsed = parseBatchLine(R"({"memberId": ")" + guid + R"(", ")" + name + R"(": ["a"]})");
        const auto* problem = std::get_if<std::string>(&parsed);
        BOOST_REQUIRE_MESSAGE(problem, name);
        BOOST_TEST(problem->find("\"" + name + "\" is reserved") != std::string::npos, *problem);
        const auto out = json::parse(inputErrorLine(3, *problem)).as_object();
        BOOST_TEST(out.at("line").as_int64() == 3);
    }
}

BOOST_AUTO_TEST_CASE(malformed_lines_say_what_is_wrong)
{
    const auto problemOf = [](std::string_view line) {
        auto parsed = parseBatchLine(line);
        return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : std::string("parsed");
    };
    BOOST_TEST(problemOf("  ") == "empty line");
    BOOST_TEST(problemOf("[1]") == "line is not a JSON object");
    BOOST_TEST(problemOf(R"({"memberId": 1})") == "memberId must be a string");
    BOOST_TEST(problemOf(R"({"memberId": "a", "contactId": "b"})") == "line has both memberId and contactId");
    BOOST_TEST(problemOf(R"({"key": 1})").find("line has none of") == 0u);
    BOOST_TEST(problemOf("{").find("invalid JSON") == 0u);
    BOOST_TEST(problemOf(R"({"memberId": "a", "k": 1, "k": 2})") == R"(field "k" appears twice)");
}

// The caller's fields come back as written: numbers a double cannot hold, -0, escapes and
// spacing inside values are not rewritten.
BOOST_AUTO_TEST_CASE(pass_through_fields_are_copied_byte_for_byte)
{
    const std::string fields = R"("big": 123456789012345678901234567890, "neg":-0,"inf":[1e999, 1.50],)"
                               R"( "s" : "a\u0041\/\"", "o":{ "x" : [ ] },"t":true,"n":null)";
    auto parsed = parseBatchLine("{" + fields + R"(, "memberId": ")" + guid + R"("})");
    const auto* request = std::get_if<BatchRequest>(&parsed);
    BOOST_REQUIRE(request);
    BOOST_TEST(request->passthrough == R"(,"big":123456789012345678901234567890,"neg":-0,"inf":[1e999, 1.50],)"
                                       R"("s":"a\u0041\/\"","o":{ "x" : [ ] },"t":true,"n":null)");
    wix::inbox::Error e;
    e.message = "m";
    const auto out = errorLine(4, request->passthrough, e);
    BOOST_TEST(out.find(R"({"line":4,"big":123456789012345678901234567890,"neg":-0,)") == 0u, out);
}

// Text from a server is escaped where the JSON serializer would leave terminal controls.
BOOST_AUTO_TEST_CASE(server_text_in_output_lines_cannot_drive_a_terminal)
{
    wix::inbox::Error e;
    e.message = "red \x1b[31m del \x7f csi \xc2\x9b" "2J " + std::string(5000, 'x');
    const auto out = errorLine(1, "", e);
    BOOST_TEST(out.find('\x1b') == std::string::npos);
    BOOST_TEST(out.find('\x7f') == std::string::npos);
    BOOST_TEST(out.find("\xc2\x9b") == std::string::npos);
    BOOST_TEST(out.find(R"(\u001b[31m del \u007f csi \u009b2J)") != std::string::npos, out);
    const auto message = json::parse(out).at("error").at("message").as_string();
    BOOST_TEST(message.size() < 1100u); // capped
    BOOST_TEST(message.starts_with("red \x1b[31m del \x7f csi \xc2\x9b" "2J"));
}

// Our error names and the service's codes are apart, with why the retries stopped.
BOOST_AUTO_TEST_CASE(error_objects_keep_our_code_and_the_services_apart)
{
    wix::inbox::Error e;
    e.code = make_error_code(wix::inbox::Errc::httpStatus);
    e.httpStatus = 404;
    e.applicationCode = "CONVERSATION_NOT_FOUND";
    e.attempts = 1;
    e.stopReason = wix::inbox::RetryStop::notRetryable;
    const auto error = json::parse(errorLine(2, "", e)).at("error").as_object();
    BOOST_TEST(error.at("code").as_string() == "httpStatus");
    BOOST_TEST(error.at("wixCode").as_string() == "CONVERSATION_NOT_FOUND");
    BOOST_TEST(error.at("stopReason").as_string() == "notRetryable");
    BOOST_TEST(error.at("attempts").as_int64() == 1);

    e = wix::inbox::makeError(wix::inbox::Errc::timeout, "t");
    e.stopReason = wix::inbox::RetryStop::attemptsExhausted;
    const auto timeout = json::parse(errorLine(3, "", e)).at("error").as_object();
    BOOST_TEST(timeout.at("code").as_string() == "timeout");
    BOOST_TEST(!timeout.contains("wixCode"));
    BOOST_TEST(timeout.at("stopReason").as_string() == "attemptsExhausted");
}

BOOST_AUTO_TEST_CASE(a_line_may_name_its_tenant_and_keeps_it_in_the_output)
{
    const auto parsed = parseBatchLine(
        R"({"siteId":"6202C3BB-1A2B-4C3D-8E9F-0A1B2C3D4E5F","memberId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f"})");
    const auto* request = std::get_if<BatchRequest>(&parsed);
    BOOST_REQUIRE(request);
    BOOST_REQUIRE(request->tenant.has_value());
    BOOST_TEST((request->tenant->kind == LineTenant::Kind::site));
    BOOST_TEST(request->tenant->id == "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f"); // one spelling per tenant
    BOOST_TEST(request->passthrough == R"(,"siteId":"6202C3BB-1A2B-4C3D-8E9F-0A1B2C3D4E5F")");
    const std::string member = R"(,"memberId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f"})";
    BOOST_TEST(std::get<std::string>(parseBatchLine(R"({"instanceId":"x")" + member)) == "instanceId must be a GUID string");
    BOOST_TEST(std::get<std::string>(parseBatchLine(
                   R"({"instanceId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","siteId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f")"
                   + member))
               == "line has both siteId and instanceId");
}

BOOST_AUTO_TEST_CASE(lines_that_send_carry_their_message)
{
    using namespace wix::inbox;
    auto text = parseBatchLine(R"({"memberId":")" + guid + R"(","text":"hi","visibility":"BUSINESS","row":1})");
    const auto* request = std::get_if<BatchRequest>(&text);
    BOOST_REQUIRE(request);
    BOOST_REQUIRE(request->message.has_value());
    BOOST_TEST((request->message->visibility == Visibility::business));
    BOOST_TEST((request->message->direction == Direction::businessToParticipant)); // the default
    BOOST_TEST(std::get<TextItem>(std::get<BasicContent>(request->message->content).items[0]).text == "hi");
    BOOST_TEST(request->passthrough == R"(,"row":1)"); // the send's fields are not passed through

    auto whole = parseBatchLine(R"({"conversationId":")" + guid
                                + R"(","message":{"content":{"minimal":{"text":"m"}},"direction":"PARTICIPANT_TO_BUSINESS"}})");
    request = std::get_if<BatchRequest>(&whole);
    BOOST_REQUIRE(request);
    BOOST_TEST((request->message->visibility == Visibility::businessAndParticipant));
    BOOST_TEST((request->message->direction == Direction::participantToBusiness));

    const auto problemOf = [](const std::string& line) { return std::get<std::string>(parseBatchLine(line)); };
    const std::string id = R"({"memberId":")" + guid + R"(",)";
    BOOST_TEST(problemOf(id + R"("text":"a","message":{}})") == "line has both text and message");
    BOOST_TEST(problemOf(id + R"("text":5})") == "text must be a string");
    BOOST_TEST(problemOf(id + R"("message":"hi"})") == "message must be an object");
    BOOST_TEST(problemOf(id + R"("message":{"content":7}})") == "field 'content' is not an object");
    BOOST_TEST(problemOf(id + R"("text":"a","visibility":"ALL"})").find("visibility must be") == 0u);
    BOOST_TEST(problemOf(id + R"("text":"a","direction":1})").find("direction must be") == 0u);
    BOOST_TEST(problemOf(id + R"("visibility":"BUSINESS"})") == "visibility and direction go with text or message");
}

// --resume and --retry-failed read the output lines back through one reader: every line the
// batch writes is one, and nothing else is.
BOOST_AUTO_TEST_CASE(the_batch_reads_back_its_own_output_lines_and_nothing_else)
{
    const auto ok = readOutputLine(okLine(7, R"(,"rowKey":1)", {{"newConversation", true}}));
    BOOST_REQUIRE(ok.has_value());
    BOOST_TEST(ok->line == 7u);
    BOOST_TEST(ok->ok);
    const auto bad = readOutputLine(inputErrorLine(8, "line has none of memberId"));
    BOOST_REQUIRE(bad.has_value());
    BOOST_TEST(bad->line == 8u);
    BOOST_TEST(!bad->ok);
    for (const std::string text : {R"({"line":0,"ok":true})", R"({"line":1})", R"({"line":"1","ok":true})",
                                   R"({"line":1.5,"ok":true})", R"({"line":1,"ok":"yes"})", R"([1,true])", "{\"line\":1,"})
        BOOST_TEST(!readOutputLine(text).has_value(), text);
}

// An output whose last line holds a large response (well past an input line's 64 KiB) is
// still resumed where it ends.
BOOST_AUTO_TEST_CASE(an_output_ending_in_a_long_line_is_resumed_after_it)
{
    const auto path = std::filesystem::temp_directory_path() / ("ndjson_test_" + std::to_string(::getpid()));
    {
        std::ofstream out(path, std::ios::binary);
        out << okLine(1, "", {}) << "\n"
            << okLine(2, "", {{"text", std::string(std::size_t{512} * 1024, 'x')}}) << "\n"
            << R"({"line":3,"o)"; // torn by a kill
    }
    const auto point = findResumePoint(path.string());
    std::filesystem::remove(path);
    const auto* resume = std::get_if<ResumePoint>(&point);
    BOOST_REQUIRE_MESSAGE(resume, (resume ? std::string() : std::get<std::string>(point)));
    BOOST_TEST(resume->lines == 2u);
    BOOST_TEST(resume->lastLine == 2u);
}

// Every complete line of an output is checked, not the last alone: a damaged line in the
// middle (or one out of order, or one past 16 MiB) is refused by its number.
BOOST_AUTO_TEST_CASE(an_output_with_a_bad_line_before_its_last_is_refused_by_number)
{
    const auto path = std::filesystem::temp_directory_path() / ("ndjson_test_bad_" + std::to_string(::getpid()));
    const auto refusal = [&](const std::string& second) {
        {
            std::ofstream out(path, std::ios::binary);
            out << okLine(1, "", {}) << "\n" << second << "\n" << okLine(3, "", {}) << "\n";
        }
        auto point = findResumePoint(path.string());
        std::filesystem::remove(path);
        return std::holds_alternative<std::string>(point) ? std::get<std::string>(point) : std::string();
    };
    BOOST_TEST(refusal(okLine(2, "", {})).empty());
    const auto damaged = refusal(R"({"line":2,"ok":tr#e})");
    BOOST_TEST(damaged.find("its line 2 is not a batch output line") != std::string::npos, damaged);
    const auto disorder = refusal(okLine(7, "", {}));
    BOOST_TEST(disorder.find("its line 3 is for input line 3, not after line 7") != std::string::npos, disorder);
    const auto huge = refusal(std::string(maxOutputLineBytes + 1, 'x'));
    BOOST_TEST(huge.find("its line 2 is longer than 16 MiB") != std::string::npos, huge);
}

// A last line past 16 MiB is refused as too long: it was "its last line is not line 2",
// which sent the user looking for a missing line.
BOOST_AUTO_TEST_CASE(a_last_line_over_16_mib_is_refused_as_too_long)
{
    const auto path = std::filesystem::temp_directory_path() / ("ndjson_test_long_" + std::to_string(::getpid()));
    {
        std::ofstream out(path, std::ios::binary);
        out << okLine(1, "", {}) << "\n" << std::string(maxOutputLineBytes + 1, 'x') << "\n";
    }
    const auto point = findResumePoint(path.string());
    std::filesystem::remove(path);
    BOOST_REQUIRE(std::holds_alternative<std::string>(point));
    const auto& problem = std::get<std::string>(point);
    BOOST_TEST(problem.find("its line 2 is longer than 16 MiB") != std::string::npos, problem);
    BOOST_TEST(problem.find("its last line is not") == std::string::npos, problem);
}
