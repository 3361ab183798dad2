// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE codec
#include <boost/test/unit_test.hpp>

#include <wix/inbox/codec.hpp>

#include "codec_detail.hpp"
#include "conversation_schema.hpp"
#include "json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <functional>
#include <vector>

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

// Bodies that are valid but unusual: escapes, nulls for optional fields, repeated keys
// (the last one counts), whitespace after the document.
BOOST_AUTO_TEST_CASE(unusual_but_valid_bodies_decode)
{
    const std::string business = R"("channels":["CHAT","NEW_ONE"],"businessDisplayData":{"name":"b","imageUrl":"i"})";
    const auto escaped = decodeGetOrCreateConversationResponse(
        withConversation(R"({"i\u0064":"\u0036202C3BB-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"contactId":null},)" + business + "}"));
    BOOST_REQUIRE(escaped.has_value());
    BOOST_TEST(escaped->conversation.id == "6202C3BB-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
    BOOST_TEST(!escaped->conversation.participant.contactId.has_value());
    BOOST_TEST(escaped->conversation.channels[1].wireName() == "NEW_ONE");

    const auto repeated = decodeGetOrCreateConversationResponse(withConversation(
        R"({"id":"00000000-1a2b-4c3d-8e9f-0a1b2c3d4e5f","id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{},)" + business
        + R"(,"participantDisplayData":null,"extra":[{"id":1},[null,1.5e3]]})") + " \n");
    BOOST_REQUIRE(repeated.has_value());
    BOOST_TEST(repeated->conversation.id == guid);
    BOOST_TEST(!repeated->conversation.participantDisplayData.has_value());
}

BOOST_AUTO_TEST_CASE(wrong_types_are_named_with_their_path)
{
    struct Case {
        std::string body;
        std::string text;
    };
    const std::string id = R"("id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f")";
    const std::vector<Case> cases{
        {withConversation("{" + id + R"(,"participant":{},"channels":[null],"businessDisplayData":{"name":"b"}})"),
         "field 'conversation.channels[0]' is not a string"},
        {withConversation("{" + id + R"(,"participant":{},"channels":["CHAT",{}],"businessDisplayData":{"name":"b"}})"),
         "field 'conversation.channels[1]' is not a string"},
        {withConversation("{" + id + R"(,"participant":[],"channels":[],"businessDisplayData":{"name":"b"}})"),
         "field 'conversation.participant' is not an object"},
        {withConversation("{" + id + R"(,"participant":{},"channels":{},"businessDisplayData":{"name":"b"}})"),
         "field 'conversation.channels' is not an array"},
        {withConversation("{" + id + R"(,"participant":{},"channels":[],"businessDisplayData":{"name":null}})"),
         "missing field 'conversation.businessDisplayData.name'"},
        {R"({"newConversation":"yes","conversation":{)" + id + R"(,"participant":{},"channels":[],"businessDisplayData":{"name":"b"}}})",
         "field 'newConversation' is not a boolean"},
    };
    for (const auto& c : cases) {
        const auto r = decodeGetOrCreateConversationResponse(c.body);
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().message == c.text);
    }
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

BOOST_AUTO_TEST_CASE(message_pages_decode_with_what_the_api_may_add)
{
    const auto page = decodeListMessagesResponse(
        R"({"messages":[{"id":"1","sequence":"41","content":{"basic":{"items":[{"text":"hi"},{"video":{"url":"v"}}]}},)"
        R"("visibility":"BUSINESS","direction":"SIDEWAYS","future":1},)"
        R"({"id":"2","sequence":42,"content":{"carousel":{"cards":[]}},"visibility":"BUSINESS_AND_PARTICIPANT"}],)"
        R"("pagingMetadata":{"count":2,"cursors":{"next":"c2","prev":null}}})");
    BOOST_REQUIRE_MESSAGE(page.has_value(), page.error().describe());
    BOOST_REQUIRE(page->messages.size() == 2u);
    const auto& first = page->messages[0];
    BOOST_TEST(*first.sequence == 41);
    BOOST_TEST((first.visibility == Visibility::business));
    BOOST_TEST((first.direction == Direction::unknown)); // an unknown enum value is no error
    const auto& items = std::get<BasicContent>(first.content).items;
    BOOST_TEST(std::get<TextItem>(items[0]).text == "hi");
    BOOST_TEST(std::get<RawJson>(items[1]).json == R"({"video":{"url":"v"}})"); // an unknown item kind is kept
    BOOST_TEST(*page->messages[1].sequence == 42);
    BOOST_TEST(std::get<UnknownContent>(page->messages[1].content).value.json == R"({"carousel":{"cards":[]}})");
    BOOST_TEST(*page->nextCursor == "c2");

    const auto last = decodeListMessagesResponse(R"({"pagingMetadata":{"cursors":{}}})"); // no array when empty
    BOOST_REQUIRE(last.has_value());
    BOOST_TEST(last->messages.empty());
    BOOST_TEST(!last->nextCursor.has_value());
}

BOOST_AUTO_TEST_CASE(malformed_messages_are_named)
{
    struct Case {
        std::string body;
        std::string text;
    };
    const std::string content = R"("content":{"minimal":{"text":"x"}})";
    const std::vector<Case> cases{
        {R"({"messages":[{)" + content + "}]}", "missing field 'messages[0].id'"},
        {R"({"messages":[{"id":"1"}]})", "missing field 'messages[0].content'"},
        {R"({"messages":[{"id":"1","content":{"basic":{"items":[]},"minimal":{"text":"x"}}}]})",
         "field 'messages[0].content' holds both 'basic' and 'minimal'"},
        {R"({"messages":[{"id":"1","sequence":"4x",)" + content + "}]}", "field 'messages[0].sequence' is not a 64-bit integer"},
        {R"({"messages":[{"id":"1","content":{"basic":{"items":[{"text":5}]}}}]})",
         "field 'messages[0].content.basic.items[0].text' is not a string"},
        {R"({"messages":[{"id":"1","content":{"template":[1]}}]})", "field 'messages[0].content.template' is not an object"},
        {R"({"messages":{}})", "field 'messages' is not an array"},
        {R"({"messages":[{"id":"1","content":{"form":{"n":1e999}}}]})",
         "field 'messages[0].content.form' holds a number out of range"},
        {R"({"messages":[{"id":"1","content":{"template":{"buttons":[{"postbackProperties":{"interactionId":"a"}}]}}}]})",
         "missing field 'messages[0].content.template.buttons[0].label'"},
        {R"({"messages":[{"id":"1","content":{"template":{"buttons":[{"label":"L","postbackProperties":{}}]}}}]})",
         "missing field 'messages[0].content.template.buttons[0].postbackProperties.interactionId'"},
        {R"({"messages":[{"id":"1","content":{"template":{"textLines":"one"}}}]})",
         "field 'messages[0].content.template.textLines' is not an array"},
        {R"({"messages":[{"id":"1","content":{"video":{"n":-1e999}}}]})",
         "field 'messages[0].content' holds a number out of range"},
    };
    for (const auto& c : cases) {
        const auto r = decodeListMessagesResponse(c.body);
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().message == c.text);
    }
    BOOST_TEST(decodeSendMessageResponse(R"({"message":{)" + content + "}}").error().message == "missing field 'message.id'");
}

BOOST_AUTO_TEST_CASE(a_message_to_send_leaves_out_what_the_server_makes)
{
    Message m = textMessage("hello");
    m.id = "99";
    m.sequence = 7;
    m.createdDate = "2026-12-02T08:00:00.000Z";
    const auto stored = boost::json::serialize(toJson(m));
    BOOST_TEST(boost::json::parse(stored).at("sequence").as_string() == "7"); // int64 goes as a string
    BOOST_TEST((*decodeMessage(stored) == m));

    SendMessageOptions options;
    options.sendAs = SendMessageOptions::SendAs::participant;
    const auto body = boost::json::parse(detail::encodeSendMessageRequest(guid, m, options)).as_object();
    BOOST_TEST(body.at("conversationId").as_string() == guid);
    BOOST_TEST(body.at("sendAs").as_string() == "PARTICIPANT");
    BOOST_TEST(!body.contains("sendNotifications"));
    const auto& message = body.at("message").as_object();
    for (const auto* serverMade : {"id", "sequence", "createdDate"})
        BOOST_TEST(!message.contains(serverMade), serverMade);
    BOOST_TEST(message.at("visibility").as_string() == "BUSINESS_AND_PARTICIPANT");
    BOOST_TEST(message.at("direction").as_string() == "BUSINESS_TO_PARTICIPANT");
    BOOST_TEST(message.at("content").at("basic").at("items").at(0).at("text").as_string() == "hello");
}

namespace {

// A card with one button of each kind, as the SDK's TemplateMessagePayload describes it.
Message templateMessage()
{
    Message m = textMessage("x");
    TemplateContent card;
    card.title = "Your order";
    card.textLines = {"Ready for pickup", "Shelf 4"};
    TemplateButton confirm;
    confirm.label = "Confirm";
    confirm.postbackProperties = PostbackProperties{"confirm-42", std::nullopt};
    TemplateButton track;
    track.label = "Track";
    track.launchUrl = "https://example.com/track/42";
    card.buttons = {confirm, track};
    card.orientation = Orientation::landscape;
    card.imageUrl = "https://example.com/box.png";
    m.content = std::move(card);
    return m;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_template_with_buttons_is_sent_and_read_back_as_typed_values)
{
    const Message m = templateMessage();
    BOOST_TEST(!detail::checkMessageToSend(m).has_value());
    const auto body = boost::json::parse(detail::encodeSendMessageRequest(guid, m, {})).as_object();
    const auto& wire = body.at("message").at("content").at("template").as_object();
    BOOST_TEST(wire.at("title").as_string() == "Your order");
    BOOST_TEST(wire.at("textLines").as_array().size() == 2u);
    BOOST_TEST(wire.at("orientation").as_string() == "LANDSCAPE");
    BOOST_TEST(wire.at("buttons").at(0).at("postbackProperties").at("interactionId").as_string() == "confirm-42");
    BOOST_TEST(!wire.at("buttons").at(0).as_object().contains("launchUrl"));
    BOOST_TEST(wire.at("buttons").at(1).at("launchUrl").as_string() == "https://example.com/track/42");

    // As the server gives it back: with the sending app's ID in the postback, and fields added later.
    auto sent = boost::json::parse(boost::json::serialize(toJson(m))).as_object();
    sent["id"] = "7";
    auto& button = sent["content"].as_object()["template"].as_object()["buttons"].as_array()[0].as_object();
    button["postbackProperties"].as_object()["appId"] = "aaaaaaaa-0000-4000-8000-000000000001";
    button["style"] = "PRIMARY";
    const auto decoded = decodeMessage(boost::json::serialize(sent));
    BOOST_REQUIRE_MESSAGE(decoded.has_value(), decoded.error().describe());
    const auto& t = std::get<TemplateContent>(decoded->content);
    BOOST_TEST(t.buttons.at(0).postbackProperties->appId.value_or("") == "aaaaaaaa-0000-4000-8000-000000000001");
    Message expected = m;
    expected.id = "7";
    std::get<TemplateContent>(expected.content).buttons[0].postbackProperties->appId = "aaaaaaaa-0000-4000-8000-000000000001";
    BOOST_TEST((*decoded == expected));
    // An orientation added later reads as unknown and is not written back.
    sent["content"].as_object()["template"].as_object()["orientation"] = "DIAGONAL";
    const auto later = decodeMessage(boost::json::serialize(sent));
    BOOST_TEST((std::get<TemplateContent>(later->content).orientation == Orientation::unknown));
}

BOOST_AUTO_TEST_CASE(a_template_the_server_would_refuse_is_refused_before_sending)
{
    auto refusal = [](auto change) {
        Message m = templateMessage();
        change(std::get<TemplateContent>(m.content));
        const auto e = detail::checkMessageToSend(m);
        BOOST_REQUIRE(e.has_value());
        BOOST_TEST(e->code == make_error_code(Errc::invalidArgument));
        return e->message;
    };
    BOOST_TEST(refusal([](TemplateContent& t) { t.buttons[0].label.clear(); }).find("buttons[0].label is empty")
               != std::string::npos);
    BOOST_TEST(refusal([](TemplateContent& t) { t.buttons[1].postbackProperties = PostbackProperties{"x", {}}; })
                   .find("buttons[1] needs exactly one") != std::string::npos);
    BOOST_TEST(refusal([](TemplateContent& t) { t.buttons[1].launchUrl.reset(); }).find("buttons[1] needs exactly one")
               != std::string::npos);
    BOOST_TEST(refusal([](TemplateContent& t) { t.buttons[0].postbackProperties->interactionId = std::string(257, 'i'); })
                   .find("interactionId has more than 256") != std::string::npos);
    BOOST_TEST(refusal([](TemplateContent& t) { t.buttons.resize(11, t.buttons[1]); }).find("more than 10 buttons")
               != std::string::npos);
    BOOST_TEST(refusal([](TemplateContent& t) { t.textLines.assign(11, "l"); }).find("more than 10 textLines")
               != std::string::npos);
    BOOST_TEST(refusal([](TemplateContent& t) { t.textLines[1] = std::string(513, 'l'); }).find("textLines[1] has more")
               != std::string::npos);
}

namespace {
namespace schema = detail::json_schema;

// Every body one edit away from `doc`: each value (at any depth) removed, made null or
// replaced by a value of each other JSON type, given twice (then null), and an unknown field
// added to each object (with nested values to skip).
std::vector<std::string> edits(boost::json::value doc)
{
    namespace json = boost::json;
    std::vector<std::string> out;
    const std::vector<json::value> replacements{nullptr, true, 7, -1, 18446744073709551615ull, 1.5, "text",
                                                json::array{"CHAT", 1}, json::object{{"k", json::array{}}}};
    // Edits `v`, a part of `doc`, and puts it back as it was.
    std::function<void(json::value&)> walk = [&](json::value& v) {
        if (v.is_object()) {
            auto& o = v.as_object();
            o["unknownField"] = json::object{{"deep", json::array{json::object{{"x", nullptr}}, "\u00e9"}}};
            out.push_back(serialize(doc));
            o.erase("unknownField");
            std::vector<std::string> keys;
            for (const auto& field : o)
                keys.emplace_back(field.key());
            for (const auto& key : keys) {
                const json::value kept = o[key];
                // The field given twice, its value then null (only text can say that).
                o[key] = nullptr;
                std::string text = serialize(doc);
                const std::string asNull = serialize(json::string(key)) + ":null";
                if (const auto at = text.find(asNull); at != std::string::npos)
                    text.insert(at, serialize(json::string(key)) + ":" + serialize(kept) + ",");
                out.push_back(text);
                for (const auto& r : replacements) {
                    o[key] = r;
                    out.push_back(serialize(doc));
                }
                o.erase(key);
                out.push_back(serialize(doc));
                o[key] = kept;
                walk(o[key]);
            }
        } else if (v.is_array()) {
            auto& a = v.as_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                const json::value kept = a[i];
                for (const auto& r : replacements) {
                    a[i] = r;
                    out.push_back(serialize(doc));
                }
                a[i] = kept;
                walk(a[i]);
            }
        }
    };
    walk(doc);
    return out;
}

// The fast reader takes a body only when the document reader reads the same value from it,
// and a body read by decodeBody gives the value and error text the document reader gives.
template <class T>
std::size_t checkAgreement(const std::vector<std::string>& bodies)
{
    std::size_t taken = 0;
    for (const auto& body : bodies) {
        BOOST_TEST_CONTEXT(body)
        {
            T fast{}, document{}, decoded{};
            const bool tookIt = schema::fast::decode(body, fast);
            const auto documentError = schema::readDocument(body, document, "response body");
            const auto decodeError = schema::decodeBody(body, decoded);
            if (tookIt) {
                ++taken;
                BOOST_TEST(!documentError);
                BOOST_TEST((fast == document));
            }
            BOOST_TEST(documentError.has_value() == decodeError.has_value());
            if (documentError && decodeError)
                BOOST_TEST(documentError->message == decodeError->message);
            else
                BOOST_TEST((decoded == document));
        }
    }
    return taken;
}
} // namespace

// A body past the document's limits (a string over 2 GiB, which maxResponseBodyBytes may
// allow) makes the document reader fail: the fast reader must refuse it too, so it stops
// where the document's parser stops. Such a body is too big for a test to build.
BOOST_AUTO_TEST_CASE(the_fast_reader_stops_at_the_document_readers_limits)
{
    using Fast = schema::fast::EventReader;
    using Document = boost::json::detail::handler; // json::parser's
    BOOST_TEST(Fast::max_string_size == Document::max_string_size);
    BOOST_TEST(Fast::max_key_size == Document::max_key_size);
    BOOST_TEST(Fast::max_object_size == Document::max_object_size);
    BOOST_TEST(Fast::max_array_size == Document::max_array_size);
}

BOOST_AUTO_TEST_CASE(the_fast_reader_takes_only_what_the_document_reader_reads_alike)
{
    const std::string full = withConversation(
        R"({"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"memberId":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","contactId":"40090000-1a2b-4c3d-8e9f-0a1b2c3d4e5f"},"channels":["CHAT","SMS","NEW_ONE"],"businessDisplayData":{"name":"caf\u00e9 \"quoted\"","imageUrl":"https://x/y.png"},"participantDisplayData":{"name":"n"}})");
    std::vector<std::string> bodies{docsExample, full};
    for (const auto& base : {docsExample, full}) {
        const auto more = edits(boost::json::parse(base));
        bodies.insert(bodies.end(), more.begin(), more.end());
    }
    // Texts only a parser sees: whitespace, escapes in keys, strings in parts, trailing data.
    bodies.push_back(" \n" + docsExample + "\t ");
    bodies.push_back(docsExample + "x");
    bodies.push_back(docsExample + docsExample);
    std::string escapedKey = docsExample;
    escapedKey.replace(escapedKey.find("\"newConversation\""), 17, "\"new\\u0043onversation\"");
    bodies.push_back(escapedKey);
    std::string longName = full;
    longName.replace(longName.find("\"n\"}"), 3, "\"" + std::string(5000, 'a') + "\\n" + std::string(5000, 'b') + "\"");
    bodies.push_back(longName);
    std::string deep = withConversation(R"({"x":)" + std::string(70, '[') + std::string(70, ']') + "}");
    bodies.push_back(deep);

    const auto taken = checkAgreement<GetOrCreateConversationResponse>(bodies);
    BOOST_TEST_MESSAGE(taken << " of " << bodies.size() << " bodies taken by the fast reader");
    BOOST_TEST(bodies.size() > 200u);
    // The valid bodies among them: the two bases, each with an unknown field at each level,
    // an optional field left out or null, and the texts only a parser sees.
    BOOST_TEST(taken >= 20u);
    BOOST_TEST(taken < bodies.size() / 2);

    std::vector<std::string> gets;
    for (const auto& b : bodies)
        gets.push_back(b.substr(0, b.rfind(R"(,"newConversation")")) + "}");
    checkAgreement<schema::Wrapped<Conversation, "conversation">>(gets);
}
