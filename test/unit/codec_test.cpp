#define BOOST_TEST_MODULE codec
#include <boost/test/unit_test.hpp>

#include <wix/inbox/codec.hpp>

#include "codec_paths.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

using namespace wix::inbox;

namespace {
const std::string guid = "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
const std::string docsExample =
    R"({"conversation":{"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"anonymousVisitorId":"40090000-1a2b-4c3d-8e9f-0a1b2c3d4e5f"},"channels":["CHAT"],"businessDisplayData":{"name":"cherry-productions"}},"newConversation":true})";

std::string withConversation(const std::string& conversationJson)
{
    return R"({"conversation":)" + conversationJson + R"(,"newConversation":false})";
}
} // namespace

BOOST_AUTO_TEST_CASE(guid_validation)
{
    BOOST_TEST(isValidGuid(guid));
    BOOST_TEST(isValidGuid("6202C3BB-1A2B-4C3D-8E9F-0A1B2C3D4E5F"));
    BOOST_TEST(!isValidGuid(""));
    BOOST_TEST(!isValidGuid("6202c3bb1a2b4c3d8e9f0a1b2c3d4e5f"));
    BOOST_TEST(!isValidGuid("6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5g"));
    BOOST_TEST(!isValidGuid("6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f0"));
    BOOST_TEST(!isValidGuid("6202c3bb_1a2b-4c3d-8e9f-0a1b2c3d4e5f"));
}

BOOST_AUTO_TEST_CASE(decodes_the_docs_example)
{
    const auto r = decodeGetOrCreateConversationResponse(docsExample);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->newConversation);
    BOOST_TEST(r->conversation.id == guid);
    BOOST_TEST(*r->conversation.participant.anonymousVisitorId == "40090000-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
    BOOST_TEST(!r->conversation.participant.memberId.has_value());
    BOOST_REQUIRE(r->conversation.channels.size() == 1u);
    BOOST_TEST(r->conversation.channels[0].value() == ChannelType::chat);
    BOOST_TEST(*r->conversation.businessDisplayData.name == "cherry-productions");
    BOOST_TEST(!r->conversation.participantDisplayData.has_value());
}

BOOST_AUTO_TEST_CASE(round_trip_through_json)
{
    GetOrCreateConversationResponse original;
    original.newConversation = true;
    original.conversation.id = guid;
    original.conversation.participant.memberId = guid;
    original.conversation.participant.contactId = "11111111-2222-4333-8444-555555555555";
    original.conversation.channels = {ChannelType::fromWire("CHAT"), ChannelType::fromWire("CARRIER_PIGEON")};
    original.conversation.businessDisplayData = {"biz", "https://img/x.png"};
    original.conversation.participantDisplayData = ConversationDisplayData{"Jane", std::nullopt};
    const auto text = boost::json::serialize(toJson(original));
    const auto decoded = decodeGetOrCreateConversationResponse(text);
    BOOST_REQUIRE(decoded.has_value());
    BOOST_TEST((*decoded == original));
}

BOOST_AUTO_TEST_CASE(unknown_fields_and_enum_values_are_kept_or_ignored)
{
    const auto r = decodeGetConversationResponse(
        R"({"future":1,"conversation":{"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"memberId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","newKind":"x"},"channels":["TELEPATHY","SMS"],"businessDisplayData":{"name":"n","imageUrl":null},"extra":{"deep":[1,2]}}})");
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r->channels[0].value() == ChannelType::other);
    BOOST_TEST(r->channels[0].wireName() == "TELEPATHY");
    BOOST_TEST(r->channels[1].value() == ChannelType::sms);
    BOOST_TEST(!r->businessDisplayData.imageUrl.has_value());
}

BOOST_AUTO_TEST_CASE(missing_guaranteed_fields_are_named)
{
    struct Case {
        std::string body;
        std::string field;
    };
    const std::vector<Case> cases{
        {R"({"newConversation":true})", "conversation"},
        {withConversation(R"({"participant":{},"channels":[],"businessDisplayData":{"name":"n"}})"), "conversation.id"},
        {withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","channels":[],"businessDisplayData":{"name":"n"}})"), "conversation.participant"},
        {withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"businessDisplayData":{"name":"n"}})"), "conversation.channels"},
        {withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[]})"), "conversation.businessDisplayData"},
        {withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[],"businessDisplayData":{}})"),
         "conversation.businessDisplayData.name"},
        {withConversation(R"({"id":7,"participant":{},"channels":[],"businessDisplayData":{"name":"n"}})"),
         "conversation.id"},
        {withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"memberId":5},"channels":[],"businessDisplayData":{"name":"n"}})"),
         "conversation.participant.memberId"},
    };
    for (const auto& c : cases) {
        const auto r = decodeGetOrCreateConversationResponse(c.body);
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().code == make_error_code(Errc::decodeError));
        BOOST_TEST(r.error().message.find("'" + c.field + "'") != std::string::npos, r.error().message);
    }
    const auto noFlag = decodeGetOrCreateConversationResponse(
        R"({"conversation":{"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[],"businessDisplayData":{"name":"n"}}})");
    BOOST_REQUIRE(noFlag.has_error());
    BOOST_TEST(noFlag.error().message.find("newConversation") != std::string::npos);
}

// An ID from the server ends up in the caller's paths and storage: a value that is not a
// GUID is refused, naming the field, by both decoding paths.
BOOST_AUTO_TEST_CASE(ids_that_are_not_guids_are_decode_errors)
{
    const std::string business = R"("channels":[],"businessDisplayData":{"name":"n"})";
    const std::string id = R"("id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f")";
    struct Case {
        std::string conversation;
        std::string field;
    };
    const std::vector<Case> cases{
        {R"({"id":"../../etc/passwd","participant":{},)" + business + "}", "conversation.id"},
        {R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5","participant":{},)" + business + "}", "conversation.id"},
        {"{" + id + R"(,"participant":{"memberId":"m/../x"},)" + business + "}", "conversation.participant.memberId"},
        {"{" + id + R"(,"participant":{"contactId":""},)" + business + "}", "conversation.participant.contactId"},
        {"{" + id + R"(,"participant":{"anonymousVisitorId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5g"},)" + business + "}",
         "conversation.participant.anonymousVisitorId"},
    };
    for (const auto& c : cases) {
        const auto body = withConversation(c.conversation);
        BOOST_TEST_CONTEXT(body)
        {
            const auto r = decodeGetOrCreateConversationResponse(body);
            BOOST_REQUIRE(r.has_error());
            BOOST_TEST(r.error().code == make_error_code(Errc::decodeError));
            BOOST_TEST(r.error().message.find("'" + c.field + "' is not a GUID") != std::string::npos, r.error().message);
            GetOrCreateConversationResponse fast;
            BOOST_TEST(!detail::decodeRegular(body, true, fast));
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_and_hostile_bodies_are_decode_errors)
{
    const std::string deep = std::string(5000, '[') + std::string(5000, ']');
    for (const std::string& body : {std::string(), std::string("not json"), std::string("[1,2]"),
                                    std::string(R"({"conversation": {"id": "6202c3bb-)"), deep,
                                    std::string("{\"conversation\":\xff}")}) {
        const auto r = decodeGetConversationResponse(body);
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().code == make_error_code(Errc::decodeError));
    }
}

// The SAX fast path takes a regular body with the document decoder's answer, and leaves
// every irregular one to it (where a wrong answer of its own would differ from the reference).
BOOST_AUTO_TEST_CASE(fast_path_takes_only_regular_bodies_and_agrees_with_the_document_decoder)
{
    const std::string business = R"("channels":["CHAT","NEW_ONE"],"businessDisplayData":{"name":"b","imageUrl":"i"})";
    const std::string regular[] = {
        docsExample,
        withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"memberId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","contactId":null},)" + business
                         + R"(,"participantDisplayData":{"name":"p"},"extra":[{"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f"},[null,1.5e3]]})"),
        // escapes, in keys and values, decoded before the keys are compared
        withConversation(R"({"i\u0064":"\u0036202C3BB-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},)" + business + "}"),
        R"({"newConversation":true,"conversation":{"participantDisplayData":null,"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},)" + business
            + "}} \n",
    };
    for (const auto& body : regular) {
        BOOST_TEST_CONTEXT(body)
        {
            GetOrCreateConversationResponse fast;
            BOOST_TEST(detail::decodeRegular(body, true, fast));
            const auto reference = detail::decodeByDocument(body, true);
            BOOST_REQUIRE(reference.has_value());
            BOOST_TEST((fast == *reference));
        }
    }
    BOOST_TEST(decodeGetOrCreateConversationResponse(regular[2])->conversation.id == "6202C3BB-1a2b-4c3d-8e9f-0a1b2c3d4e5f");

    const std::string irregular[] = {
        withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[],"businessDisplayData":{"name":null}})"),
        withConversation(R"({"id":null,"participant":{},"channels":[],"businessDisplayData":{"name":"b"}})"),
        withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[],"businessDisplayData":{"name":"b"}})"),
        withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[null],"businessDisplayData":{"name":"b"}})"),
        withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[[]],"businessDisplayData":{"name":"b"}})"),
        withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[{}],"businessDisplayData":{"name":"b"}})"),
        withConversation(R"({"id":1,"participant":{},"channels":[],"businessDisplayData":{"name":"b"}})"),
        withConversation(R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":[],"channels":[],"businessDisplayData":{"name":"b"}})"),
        R"({"conversation":{"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},"channels":[],"businessDisplayData":{"name":"b"}}})",
        docsExample + "}",
        "[" + docsExample + "]",
    };
    for (const auto& body : irregular) {
        BOOST_TEST_CONTEXT(body)
        {
            GetOrCreateConversationResponse fast;
            BOOST_TEST(!detail::decodeRegular(body, true, fast));
        }
    }
    // Without newConversation, a GetConversation body is regular.
    GetOrCreateConversationResponse fast;
    BOOST_TEST(detail::decodeRegular(irregular[8], false, fast));
}

BOOST_AUTO_TEST_CASE(request_body_has_exactly_one_participant_field)
{
    const auto body = boost::json::parse(encodeGetOrCreateConversationRequest(ParticipantId::contact(guid)));
    BOOST_TEST(boost::json::serialize(body) == R"({"participantId":{"contactId":")" + guid + R"("}})");
    BOOST_TEST(ParticipantId::anonymousVisitor(guid).wireField() == "anonymousVisitorId");
    BOOST_TEST(ParticipantId::member(guid).wireField() == "memberId");
}

BOOST_AUTO_TEST_CASE(request_body_carries_the_guid_in_lower_case)
{
    const auto body = encodeGetOrCreateConversationRequest(ParticipantId::member("6202C3BB-1A2B-4C3D-8E9F-0A1B2C3D4E5F"));
    BOOST_TEST(body == R"({"participantId":{"memberId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}})");
}

BOOST_AUTO_TEST_CASE(request_body_escapes_an_id_that_needs_it)
{
    // Calls reject such IDs before encoding; the public encoder still writes valid JSON.
    for (const std::string& id : std::vector<std::string>{"a\"b", "back\\slash", std::string("nul\0tab\t", 8), "caf\xc3\xa9"}) {
        boost::system::error_code ec;
        const auto body = boost::json::parse(encodeGetOrCreateConversationRequest(ParticipantId::member(id)), ec);
        BOOST_TEST_REQUIRE(!ec, "not JSON for " << id);
        BOOST_TEST(body.at("participantId").at("memberId").as_string() == id);
    }
}

BOOST_AUTO_TEST_CASE(error_envelopes)
{
    Error app;
    decodeErrorBody(
        R"({"message":"Conversation not found","details":{"applicationError":{"code":"CONVERSATION_NOT_FOUND","description":"d","data":{}}}})",
        app);
    BOOST_TEST(app.applicationCode == "CONVERSATION_NOT_FOUND");
    BOOST_TEST(app.message == "Conversation not found");

    Error validation;
    decodeErrorBody(
        R"({"message":"bad","details":{"validationError":{"fieldViolations":[{"field":"participantId.memberId","description":"must be a GUID","violatedRule":"FORMAT","ruleName":"GUID","data":{}}]}}})",
        validation);
    BOOST_REQUIRE(validation.fieldViolations.size() == 1u);
    BOOST_TEST(validation.fieldViolations[0].field == "participantId.memberId");
    BOOST_TEST(validation.fieldViolations[0].violatedRule == "FORMAT");

    Error empty, html, wrongShape;
    decodeErrorBody("", empty);
    decodeErrorBody("<html>502</html>", html);
    decodeErrorBody(R"({"message":5,"details":[]})", wrongShape);
    BOOST_TEST(empty.message == "empty error body");
    BOOST_TEST(html.message == "error body is not the Wix error envelope");
    BOOST_TEST(wrongShape.message.empty());
    BOOST_TEST(wrongShape.applicationCode.empty());
}

BOOST_AUTO_TEST_CASE(describe_and_exception)
{
    Error e;
    e.code = make_error_code(Errc::httpStatus);
    e.httpStatus = 404;
    e.applicationCode = "CONVERSATION_NOT_FOUND";
    e.message = "Conversation not found";
    e.requestId = "req-1";
    e.attempts = 1;
    BOOST_TEST(e.describe() == "HTTP 404 CONVERSATION_NOT_FOUND: Conversation not found (request-id req-1, 1 attempt)");

    Result<int> r = e;
    BOOST_CHECK_EXCEPTION((void)r.value(), Exception, [](const Exception& ex) {
        return ex.error().httpStatus == 404 && std::string(ex.what()).find("CONVERSATION_NOT_FOUND") != std::string::npos;
    });
    BOOST_TEST(std::string(make_error_code(Errc::timeout).category().name()) == "wix.inbox");
}
