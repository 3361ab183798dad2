// SPDX-License-Identifier: BSL-1.0
#include "endpoints.hpp"

#include <wix/inbox/codec.hpp>

#include "codec_detail.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace wix::inbox::detail::endpoints {
namespace {

const std::string guidForm = " (expected 8-4-4-4-12 hexadecimal digits, e.g. 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f)";
// The API caps cursors at this length; a longer one is not a cursor it made.
constexpr std::size_t maxCursorLength = 16000;

std::optional<Error> invalid(std::string text)
{
    return makeError(Errc::invalidArgument, std::move(text));
}

std::optional<Error> checkConversationId(std::string_view id)
{
    if (isValidGuid(id))
        return std::nullopt;
    return invalid("conversation ID is not a GUID" + guidForm);
}

void addQuery(std::string& target, std::string_view key, std::string_view value)
{
    target.append(target.find('?') == std::string::npos ? "?" : "&").append(key).append("=");
    target.append(boost::urls::encode(value, boost::urls::unreserved_chars));
}

std::optional<Error> encodeGet(const ConversationInput& in, Request& into)
{
    if (auto e = checkConversationId(in.conversationId))
        return e;
    into.target.append("/").append(lowerCaseGuid(in.conversationId));
    return std::nullopt;
}

std::optional<Error> encodeGetOrCreate(const ParticipantInput& in, Request& into)
{
    if (!isValidGuid(in.participant.id()))
        return invalid(std::string(in.participant.wireField()) + " is not a GUID" + guidForm);
    into.body = encodeGetOrCreateConversationRequest(in.participant);
    return std::nullopt;
}

std::optional<Error> encodeList(const ListMessagesInput& in, Request& into)
{
    if (auto e = checkConversationId(in.conversationId))
        return e;
    if (in.visibility == Visibility::unknown)
        return invalid("visibility is required: business or businessAndParticipant");
    const auto& o = in.options;
    if (o.limit && (*o.limit < 1 || *o.limit > 100))
        return invalid("limit must be in 1..100");
    if (o.cursor && (o.cursor->empty() || o.cursor->size() > maxCursorLength))
        return invalid("cursor must have 1.." + std::to_string(maxCursorLength) + " characters");
    addQuery(into.target, "conversationId", lowerCaseGuid(in.conversationId));
    addQuery(into.target, "visibility", wireName(in.visibility));
    if (o.limit)
        addQuery(into.target, "paging.limit", std::to_string(*o.limit));
    if (o.cursor)
        addQuery(into.target, "paging.cursor", *o.cursor);
    addQuery(into.target, "sorting.fieldName", "sequence");
    addQuery(into.target, "sorting.order", wireName(o.order));
    return std::nullopt;
}

std::optional<Error> encodeSend(const SendMessageInput& in, Request& into)
{
    if (auto e = checkConversationId(in.conversationId))
        return e;
    if (auto e = checkMessageToSend(in.message))
        return e;
    into.body = encodeSendMessageRequest(lowerCaseGuid(in.conversationId), in.message, in.options);
    // The checks above name the texts they know; this catches the rest (file names, badges,
    // channel IDs, raw JSON), which the encoder copies byte for byte.
    if (!isWellFormedUtf8(into.body))
        return invalid("the message holds text that is not well-formed UTF-8");
    return std::nullopt;
}

} // namespace

const Endpoint<ConversationInput, Conversation> getConversation{
    "GET", "/inbox/v2/conversations", "GetConversation", "/inbox/v2/conversations/{conversationId}",
    true, &encodeGet, &decodeConversationInto};
const Endpoint<ParticipantInput, GetOrCreateConversationResponse> getOrCreateConversation{
    "POST", "/inbox/v2/conversations", "GetOrCreateConversation", "/inbox/v2/conversations",
    true, &encodeGetOrCreate, &decodeGetOrCreateInto};
const Endpoint<ListMessagesInput, MessagesPage> listMessages{
    "GET", "/inbox/v2/messages", "ListMessages", "/inbox/v2/messages",
    true, &encodeList, &decodeMessagesPageInto};
const Endpoint<SendMessageInput, Message> sendMessage{
    "POST", "/inbox/v2/messages", "SendMessage", "/inbox/v2/messages",
    false, &encodeSend, &decodeSentMessageInto};

} // namespace wix::inbox::detail::endpoints
