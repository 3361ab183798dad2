// SPDX-License-Identifier: BSL-1.0
// The emulated Messages service: ListMessages and SendMessage over the MessageStore, and the
// admin calls that play the participant's side (a message they send, a button they press).
#include "emulator/ids.hpp"
#include "emulator/service.hpp"

#include "message_schema.hpp" // the wire names of Visibility and Direction
#include "utf8.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace wix::inbox::emulator {
namespace json = boost::json;
using detail::json_schema::fromWireName;
using detail::json_schema::wireName;
namespace {

constexpr std::size_t defaultPageSize = 30;
constexpr std::size_t maxPageSize = 100;

ServiceResponse invalid(std::string_view field, std::string_view message, std::string_view rule = "FORMAT")
{
    return {400, validationErrorBody(message, field, rule), {}};
}

ServiceResponse notFound()
{
    return {404, applicationErrorBody("Conversation not found", "CONVERSATION_NOT_FOUND"), {}};
}

bool isVisibility(std::string_view v)
{
    return fromWireName<Visibility>(v).has_value();
}

std::optional<ServiceResponse> checkText(const json::value* text, const std::string& field)
{
    if (!text || !text->is_string() || text->get_string().empty())
        return invalid(field, field + " must be a non-empty string", "REQUIRED_FIELD");
    if (detail::utf16Length(text->get_string()) > maxTextCharacters)
        return invalid(field, field + " is longer than 16384 characters", "MAX_LENGTH");
    return std::nullopt;
}

std::optional<ServiceResponse> checkMedia(const json::value& media, const std::string& field)
{
    const auto* url = media.is_object() ? media.get_object().if_contains("url") : nullptr;
    if (!url || !url->is_string())
        return invalid(field + ".url", field + ".url is required", "REQUIRED_FIELD");
    const std::string_view u = url->get_string();
    if (!u.starts_with("https://") && !u.starts_with("http://"))
        return ServiceResponse{400, applicationErrorBody("media URL is not an http(s) URL", "INVALID_MEDIA_URL"), {}};
    return std::nullopt;
}

std::optional<ServiceResponse> checkContent(const json::value* content)
{
    if (!content || !content->is_object())
        return invalid("message.content", "message.content is required", "REQUIRED_FIELD");
    const auto& o = content->get_object();
    int kinds = 0;
    for (const auto* kind : {"basic", "template", "minimal", "form", "system"})
        if (const auto* v = o.if_contains(kind); v && !v->is_null())
            ++kinds;
    if (kinds != 1)
        return invalid("message.content", "message.content needs exactly one of basic, template, minimal, form, system",
                       "ONE_OF");
    if (const auto* minimal = o.if_contains("minimal"); minimal && !minimal->is_null()) {
        const auto* text = minimal->is_object() ? minimal->get_object().if_contains("text") : nullptr;
        return checkText(text, "message.content.minimal.text");
    }
    const auto* basic = o.if_contains("basic");
    if (!basic || basic->is_null()) {
        for (const auto* kind : {"template", "form", "system"})
            if (const auto* v = o.if_contains(kind); v && !v->is_null() && !v->is_object())
                return invalid(std::string("message.content.") + kind, "must be an object");
        return std::nullopt;
    }
    const auto* items = basic->is_object() ? basic->get_object().if_contains("items") : nullptr;
    if (!items || !items->is_array() || items->get_array().empty())
        return invalid("message.content.basic.items", "message.content.basic.items must be a non-empty array",
                       "REQUIRED_FIELD");
    for (std::size_t i = 0; i < items->get_array().size(); ++i) {
        const auto& item = items->get_array()[i];
        const std::string field = "message.content.basic.items[" + std::to_string(i) + "]";
        if (!item.is_object())
            return invalid(field, field + " must be an object");
        const auto& io = item.get_object();
        const auto* text = io.if_contains("text");
        const auto* image = io.if_contains("image");
        const auto* file = io.if_contains("file");
        if ((text != nullptr) + (image != nullptr) + (file != nullptr) != 1)
            return invalid(field, field + " needs exactly one of text, image, file", "ONE_OF");
        auto problem = text ? checkText(text, field + ".text") : checkMedia(image ? *image : *file, field);
        if (problem)
            return problem;
    }
    return std::nullopt;
}

// Sent as the participant (sendAs PARTICIPANT), a message that names a sender must name the
// conversation's participant: any of its IDs (a member's contact ID too).
std::optional<ServiceResponse> checkSender(const json::object& body, const json::object& message,
                                           const ConversationStore::Conversation& conversation)
{
    const auto* sendAs = body.if_contains("sendAs");
    const auto* sender = message.if_contains("sender");
    if (!sendAs || sendAs->as_string() != "PARTICIPANT" || !sender || !sender->is_object())
        return std::nullopt;
    for (const auto& [field, value] : sender->get_object()) {
        if (!value.is_string())
            continue;
        const std::string id = lowerCase(value.get_string());
        const bool same = (field == conversation.participant.field && id == conversation.participant.id)
                       || (field == "contactId" && id == conversation.contactId);
        if (!same)
            return ServiceResponse{403, applicationErrorBody("the sender is not the conversation's participant",
                                                             "IDENTITY_DOES_NOT_MATCH"), {}};
    }
    return std::nullopt;
}

ServiceResponse storeFull()
{
    return {400, applicationErrorBody("the emulator's message store is full", "MESSAGE_LIMIT_REACHED"), {}};
}

// The admin body's member `name` when it is a string.
const json::string* stringIn(const json::value& root, std::string_view name)
{
    const auto* v = root.get_object().if_contains(name);
    return v && v->is_string() ? &v->get_string() : nullptr;
}

struct Postback {
    std::optional<std::string> appId;
};

// The stored message's template button whose postbackProperties carry `interactionId`.
std::optional<Postback> postbackOf(const std::string& message, std::string_view interactionId)
{
    const json::value m = json::parse(message);
    const auto* buttons = m.as_object().if_contains("content");
    buttons = buttons && buttons->is_object() ? buttons->get_object().if_contains("template") : nullptr;
    buttons = buttons && buttons->is_object() ? buttons->get_object().if_contains("buttons") : nullptr;
    if (!buttons || !buttons->is_array())
        return std::nullopt;
    for (const auto& button : buttons->get_array()) {
        const auto* postback = button.is_object() ? button.get_object().if_contains("postbackProperties") : nullptr;
        if (!postback || !postback->is_object())
            continue;
        const auto& p = postback->get_object();
        const auto* id = p.if_contains("interactionId");
        if (!id || !id->is_string() || id->get_string() != interactionId)
            continue;
        const auto* app = p.if_contains("appId");
        return Postback{app && app->is_string() ? std::optional<std::string>(app->get_string()) : std::nullopt};
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> Service::store(const std::shared_ptr<const Conversation>& conversation,
                                          bool participantVisible, bool toBusiness, std::string_view message)
{
    auto stored = messages_.append(conversation->id, participantVisible, message);
    if (stored)
        announce(MessageEvent{conversation, *stored, toBusiness});
    return stored;
}

ServiceResponse Service::participantMessage(std::string_view body)
{
    boost::system::error_code ec;
    const json::value root = json::parse(body, ec);
    if (ec || !root.is_object())
        return invalid("participant", R"(body must be {"participant": ParticipantId, "text": "..."})", "REQUIRED_FIELD");
    const auto tenant = adminTenant(root);
    if (!tenant)
        return invalid("tenant", "tenant must be a string");
    auto participant = parseParticipant(root.get_object().if_contains("participant"), "participant", *tenant);
    if (auto* refused = std::get_if<ServiceResponse>(&participant))
        return std::move(*refused);
    if (auto problem = checkText(root.get_object().if_contains("text"), "text"))
        return std::move(*problem);
    if (auto refused = withoutInbox(*tenant, "send"))
        return std::move(*refused);
    const auto conversation = getOrCreate(std::get<Identity>(participant)).conversation;
    const json::object message{
        {"content", json::object{{"basic", json::object{{"items", json::array{json::object{{"text", *stringIn(root, "text")}}}}}}}},
        {"sender", json::parse(conversation->participantJson)},
        {"visibility", wireName(Visibility::businessAndParticipant)},
        {"direction", wireName(Direction::participantToBusiness)}};
    const auto stored = store(conversation, true, true, json::serialize(message));
    if (!stored)
        return storeFull();
    return {200, R"({"conversationId":")" + conversation->id + R"(","message":)" + *stored + "}", {}};
}

ServiceResponse Service::pressButton(std::string_view body)
{
    boost::system::error_code ec;
    const json::value root = json::parse(body, ec);
    if (ec || !root.is_object())
        return invalid("conversationId", R"(body must be {"conversationId", "messageId", "interactionId"})",
                       "REQUIRED_FIELD");
    const auto tenant = adminTenant(root);
    if (!tenant)
        return invalid("tenant", "tenant must be a string");
    const auto* conversationId = stringIn(root, "conversationId");
    const auto* messageId = stringIn(root, "messageId");
    const auto* interactionId = stringIn(root, "interactionId");
    if (!conversationId || !isGuid(*conversationId))
        return invalid("conversationId", "conversationId must be a GUID");
    if (!messageId || messageId->empty())
        return invalid("messageId", "messageId must be a message's ID", "REQUIRED_FIELD");
    if (!interactionId || interactionId->empty())
        return invalid("interactionId", "interactionId must be a button's interactionId", "REQUIRED_FIELD");
    const auto conversation = conversationOf(*conversationId, *tenant);
    if (!conversation)
        return notFound();
    const auto message = messages_.find(conversation->id, *messageId);
    if (!message)
        return {404, applicationErrorBody("Message not found", "MESSAGE_NOT_FOUND"), {}};
    const auto button = postbackOf(*message, *interactionId);
    if (!button)
        return {404, applicationErrorBody("the message has no button with that interactionId", "BUTTON_NOT_FOUND"), {}};
    announce(ButtonEvent{conversation, std::string(*interactionId), button->appId});
    return {200, json::serialize(json::object{{"conversationId", conversation->id}, {"messageId", *messageId},
                                              {"interactionId", *interactionId}}),
            {}};
}

ServiceResponse Service::sendMessage(const RouteCall& call)
{
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 32;
    json::value root = json::parse(call.request.body, ec, {}, options);
    if (ec || !root.is_object())
        return invalid("message", "request body is not a JSON object", "REQUIRED_FIELD");
    auto& body = root.get_object();
    const auto* id = body.if_contains("conversationId");
    if (!id || !id->is_string() || !isGuid(id->get_string()))
        return invalid("conversationId", "conversationId must be a GUID");
    auto* message = body.if_contains("message");
    if (!message || !message->is_object())
        return invalid("message", "message is required", "REQUIRED_FIELD");
    auto& m = message->get_object();
    const auto* visibility = m.if_contains("visibility");
    if (!visibility || !visibility->is_string() || !isVisibility(visibility->get_string()))
        return invalid("message.visibility", "message.visibility must be BUSINESS or BUSINESS_AND_PARTICIPANT");
    const auto* direction = m.if_contains("direction");
    if (!direction || !direction->is_string() || !fromWireName<Direction>(direction->get_string()))
        return invalid("message.direction", "message.direction must be BUSINESS_TO_PARTICIPANT or PARTICIPANT_TO_BUSINESS");
    if (auto problem = checkContent(m.if_contains("content")))
        return std::move(*problem);
    if (const auto* sendAs = body.if_contains("sendAs");
        sendAs && (!sendAs->is_string() || (sendAs->get_string() != "CALLER" && sendAs->get_string() != "PARTICIPANT")))
        return invalid("sendAs", "sendAs must be CALLER or PARTICIPANT");
    if (auto refused = withoutInbox(call.request.tenant, "send"))
        return std::move(*refused);
    const auto conversation = conversationOf(id->get_string(), call.request.tenant);
    if (!conversation)
        return notFound();
    if (auto refused = checkSender(body, m, *conversation))
        return std::move(*refused);
    const bool participantVisible
        = fromWireName<Visibility>(visibility->get_string()) == Visibility::businessAndParticipant;
    for (const auto* serverMade : {"id", "sequence", "createdDate"})
        m.erase(serverMade);
    const bool toBusiness = fromWireName<Direction>(direction->get_string()) == Direction::participantToBusiness;
    const auto stored = store(conversation, participantVisible, toBusiness, json::serialize(m));
    if (!stored)
        return storeFull();
    return {200, R"({"message":)" + *stored + "}", {}};
}

ServiceResponse Service::listMessages(const RouteCall& call)
{
    auto parsed = parseListQuery(call.request.target);
    if (auto* problem = std::get_if<QueryProblem>(&parsed))
        return invalid(problem->field, problem->message, problem->rule);
    auto& q = std::get<ListQuery>(parsed);
    if (!isGuid(q.conversationId))
        return invalid("conversationId", "conversationId must be a GUID");
    if (!isVisibility(q.visibility))
        return invalid("visibility", "visibility must be BUSINESS or BUSINESS_AND_PARTICIPANT", "REQUIRED_FIELD");
    if (q.order && *q.order != "ASC" && *q.order != "DESC")
        return invalid("sorting.order", "sorting.order must be ASC or DESC");
    if (q.limit && (*q.limit < 1 || *q.limit > static_cast<std::int64_t>(maxPageSize)))
        return invalid("paging.limit", "paging.limit must be in 1..100", "MAX");
    const std::string conversationId = lowerCase(q.conversationId);
    std::optional<std::int64_t> after;
    std::string order = q.order.value_or("DESC");
    if (q.cursor) {
        const auto cursor = openCursor(*q.cursor, cursorKey_);
        if (!cursor)
            return invalid("paging.cursor", "paging.cursor is not a cursor this service gave", "INVALID_CURSOR");
        if (cursor->conversationId != conversationId || cursor->visibility != q.visibility
            || (q.order && cursor->order != *q.order))
            return invalid("paging.cursor", "a cursor continues its own listing: same conversation, visibility and order",
                           "INVALID_CURSOR");
        order = cursor->order;
        after = cursor->afterSequence;
    }
    if (auto refused = withoutInbox(call.request.tenant, "list"))
        return std::move(*refused);
    const auto conversation = conversationOf(conversationId, call.request.tenant);
    if (!conversation)
        return notFound();
    const auto limit = q.limit ? static_cast<std::size_t>(*q.limit) : defaultPageSize;
    const auto page = messages_.page(conversation->id, fromWireName<Visibility>(q.visibility) == Visibility::business, order == "ASC", after, limit);
    std::string out = R"({"messages":[)";
    for (std::size_t i = 0; i < page.messages.size(); ++i)
        out.append(i ? "," : "").append(page.messages[i]);
    out += R"(],"pagingMetadata":{"count":)" + std::to_string(page.messages.size()) + R"(,"cursors":{"next":)";
    if (page.lastSequence)
        out += json::serialize(json::string(
            sealCursor({conversationId, q.visibility, order, *page.lastSequence}, cursorKey_)));
    else
        out += "null";
    out += R"(,"prev":null}}})";
    return {200, std::move(out), {}};
}

} // namespace wix::inbox::emulator
