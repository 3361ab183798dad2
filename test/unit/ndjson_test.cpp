#define BOOST_TEST_MODULE ndjson
#include <boost/test/unit_test.hpp>

#include "cli/ndjson.hpp"

#include <boost/json/parse.hpp>

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
    // Read as infinity, which has no JSON form: echoing it would corrupt the output line.
    BOOST_TEST(problemOf(R"({"memberId": "a", "n": [1e999]})") == R"(field "n" has a number out of range)");
}
