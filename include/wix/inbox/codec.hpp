// SPDX-License-Identifier: BSL-1.0
// JSON codec of the model, with the contract's REST field names.
//
// Decoding tolerates unknown fields and unknown enum values, and rejects a body that lacks
// what the contract guarantees with `Errc::decodeError` naming the field (e.g.
// "conversation.businessDisplayData.name"). Nesting deeper than 64 levels is rejected.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace wix::inbox {

boost::json::object toJson(const ParticipantId& p);
boost::json::object toJson(const IdentificationData& d);
boost::json::object toJson(const Conversation& c);
boost::json::object toJson(const GetOrCreateConversationResponse& r);

/// The request body of GetOrCreateConversation: `{"participantId": {...}}`.
std::string encodeGetOrCreateConversationRequest(const ParticipantId& p);

/// Decodes `{"conversation": Conversation}`.
Result<Conversation> decodeGetConversationResponse(std::string_view body);
/// Decodes `{"conversation": Conversation, "newConversation": bool}`.
Result<GetOrCreateConversationResponse> decodeGetOrCreateConversationResponse(std::string_view body);

boost::json::object toJson(const Message& m);

/// Decodes one Message object, e.g. a message to send written as JSON. Its server-made
/// fields (id, sequence, createdDate) may be absent.
Result<Message> decodeMessage(std::string_view json);
/// Decodes `{"messages": [Message], "pagingMetadata": {"cursors": {"next": ...}}}`; every
/// message must have its ID.
Result<MessagesPage> decodeListMessagesResponse(std::string_view body);
/// Decodes `{"message": Message}`; the message must have its ID.
Result<Message> decodeSendMessageResponse(std::string_view body);

/// Fills `message`, `applicationCode` and `fieldViolations` of `into` from a Wix error
/// envelope. A body that is empty or not the envelope (5xx pages, proxies) leaves a
/// generic message; it never fails.
void decodeErrorBody(std::string_view body, Error& into);

} // namespace wix::inbox
