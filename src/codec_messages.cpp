// SPDX-License-Identifier: BSL-1.0
// The codec of the Messages model: the bodies of ListMessages and SendMessage, the checks of a
// message to send, and the public functions. The model's fields are in message_schema.hpp.
#include <wix/inbox/codec.hpp>

#include "codec_detail.hpp"
#include "json_body.hpp"
#include "utf8.hpp"
#include "message_schema.hpp"
#include "paging_schema.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>

namespace wix::inbox {
namespace json = boost::json;

namespace detail::json_schema {

// ListMessages' body. An empty list may come without its array, as protobuf's JSON omits it.
struct PageBody {
    std::vector<Message> messages;
    PagingMetadata pagingMetadata;
};
template <>
struct Schema<PageBody> {
    static constexpr auto fields
        = std::tuple{field("messages", &PageBody::messages), field("pagingMetadata", &PageBody::pagingMetadata)};
};

} // namespace detail::json_schema

namespace {

// A message the server gives has its ID: the caller keeps it, and reconciles sends by it.
std::optional<Error> requireId(const Message& m, const std::string& path)
{
    if (!m.id.empty())
        return std::nullopt;
    return makeError(Errc::decodeError, "missing field '" + path + ".id'");
}

std::optional<Error> invalid(std::string text)
{
    return makeError(Errc::invalidArgument, std::move(text));
}

std::optional<Error> checkText(std::string_view text, const std::string& what)
{
    if (text.empty())
        return invalid(what + " is empty");
    const auto characters = detail::utf16Length(text);
    if (characters == std::string_view::npos)
        return invalid(what + " is not well-formed UTF-8");
    if (characters > maxTextCharacters)
        return invalid(what + " has " + std::to_string(characters) + " characters (at most "
                       + std::to_string(maxTextCharacters) + ")");
    return std::nullopt;
}

std::optional<Error> checkRaw(const RawJson& raw, const std::string& what)
{
    boost::system::error_code ec;
    const auto v = json::parse(raw.json, ec);
    if (ec || !v.is_object())
        return invalid(what + " is not one JSON object");
    return std::nullopt;
}

std::optional<Error> checkItem(const BasicItem& item, const std::string& what)
{
    return std::visit(
        [&](const auto& value) -> std::optional<Error> {
            using Kind = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<Kind, TextItem>)
                return checkText(value.text, what + ".text");
            else if constexpr (std::is_same_v<Kind, RawJson>)
                return checkRaw(value, what);
            else if (value.url.empty())
                return invalid(what + " has no url");
            else
                return std::nullopt;
        },
        item);
}

// The SDK's bounds on a template: what the server would refuse is refused before sending.
constexpr std::size_t maxTemplateLines = 10;
constexpr std::size_t maxTemplateLineCharacters = 512;
constexpr std::size_t maxTemplateButtons = 10;
constexpr std::size_t maxInteractionIdCharacters = 256;

std::optional<Error> checkTemplate(const TemplateContent& t)
{
    const std::string what = "message.content.template";
    if (t.textLines.size() > maxTemplateLines)
        return invalid(what + " has more than " + std::to_string(maxTemplateLines) + " textLines");
    for (std::size_t i = 0; i < t.textLines.size(); ++i) {
        const std::string line = what + ".textLines[" + std::to_string(i) + "]";
        if (auto e = checkText(t.textLines[i], line))
            return e;
        if (detail::utf16Length(t.textLines[i]) > maxTemplateLineCharacters)
            return invalid(line + " has more than " + std::to_string(maxTemplateLineCharacters) + " characters");
    }
    if (t.buttons.size() > maxTemplateButtons)
        return invalid(what + " has more than " + std::to_string(maxTemplateButtons) + " buttons");
    for (std::size_t i = 0; i < t.buttons.size(); ++i) {
        const auto& button = t.buttons[i];
        const std::string at = what + ".buttons[" + std::to_string(i) + "]";
        if (auto e = checkText(button.label, at + ".label"))
            return e;
        if (button.launchUrl.has_value() == button.postbackProperties.has_value())
            return invalid(at + " needs exactly one of launchUrl and postbackProperties");
        if (button.postbackProperties) {
            const auto& id = button.postbackProperties->interactionId;
            if (auto e = checkText(id, at + ".postbackProperties.interactionId"))
                return e;
            if (detail::utf16Length(id) > maxInteractionIdCharacters)
                return invalid(at + ".postbackProperties.interactionId has more than "
                               + std::to_string(maxInteractionIdCharacters) + " characters");
        }
    }
    return std::nullopt;
}

std::optional<Error> checkContent(const MessageContent& content)
{
    return std::visit(
        [&](const auto& value) -> std::optional<Error> {
            using Kind = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<Kind, BasicContent>) {
                if (value.items.empty())
                    return invalid("message.content.basic has no items");
                for (std::size_t i = 0; i < value.items.size(); ++i)
                    if (auto e = checkItem(value.items[i], "message.content.basic.items[" + std::to_string(i) + "]"))
                        return e;
                return std::nullopt;
            } else if constexpr (std::is_same_v<Kind, MinimalContent>) {
                return checkText(value.text, "message.content.minimal.text");
            } else if constexpr (std::is_same_v<Kind, TemplateContent>) {
                return checkTemplate(value);
            } else {
                return checkRaw(value.value, "message.content");
            }
        },
        content);
}

} // namespace

std::optional<Error> detail::checkMessageToSend(const Message& m)
{
    if (m.visibility == Visibility::unknown)
        return invalid("message.visibility is required");
    if (m.direction == Direction::unknown)
        return invalid("message.direction is required");
    if (m.sender) {
        for (const auto* id : {&m.sender->anonymousVisitorId, &m.sender->memberId, &m.sender->contactId})
            if (*id && !isValidGuid(**id))
                return invalid("message.sender holds an ID that is not a GUID");
    }
    return checkContent(m.content);
}

bool detail::isWellFormedUtf8(std::string_view text) noexcept
{
    return utf16Length(text) != std::string_view::npos;
}

std::string detail::encodeSendMessageRequest(std::string_view conversationId, const Message& message,
                                             const SendMessageOptions& options)
{
    auto wire = json_schema::write(message).as_object();
    for (const auto* serverMade : {"id", "sequence", "createdDate"})
        wire.erase(serverMade);
    json::object body;
    body["conversationId"] = conversationId;
    body["message"] = std::move(wire);
    if (options.sendNotifications)
        body["sendNotifications"] = *options.sendNotifications;
    if (options.sendAs)
        body["sendAs"] = *options.sendAs == SendMessageOptions::SendAs::caller ? "CALLER" : "PARTICIPANT";
    return json::serialize(body);
}

std::string_view detail::wireName(Visibility v) noexcept
{
    return json_schema::wireName(v);
}

std::string_view detail::wireName(SortOrder o) noexcept
{
    return o == SortOrder::asc ? "ASC" : "DESC";
}

void detail::decodeMessagesPageInto(std::string_view body, Result<MessagesPage>& out)
{
    json_schema::PageBody page;
    if (auto failure = json_schema::decodeBody(body, page)) {
        out = std::move(*failure);
        return;
    }
    for (std::size_t i = 0; i < page.messages.size(); ++i) {
        if (auto failure = requireId(page.messages[i], "messages[" + std::to_string(i) + "]")) {
            out = std::move(*failure);
            return;
        }
    }
    out = MessagesPage{std::move(page.messages), std::move(page.pagingMetadata.cursors.next)};
}

void detail::decodeSentMessageInto(std::string_view body, Result<Message>& out)
{
    json_schema::Wrapped<Message, "message"> sent; // SendMessage's body
    auto failure = json_schema::decodeBody(body, sent);
    if (!failure)
        failure = requireId(sent.value, "message");
    if (failure)
        out = std::move(*failure);
    else
        out = std::move(sent.value);
}

json::object toJson(const Message& m)
{
    return std::move(detail::json_schema::write(m).as_object());
}

Result<Message> decodeMessage(std::string_view json)
{
    Message m;
    if (auto failure = detail::json_schema::decodeBody(json, m, "message"))
        return std::move(*failure);
    return m;
}

Result<MessagesPage> decodeListMessagesResponse(std::string_view body)
{
    return detail::decodeWith(&detail::decodeMessagesPageInto, body);
}

Result<Message> decodeSendMessageResponse(std::string_view body)
{
    return detail::decodeWith(&detail::decodeSentMessageInto, body);
}

} // namespace wix::inbox
