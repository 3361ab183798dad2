// The API's endpoints, one descriptor each. Adding an endpoint: its model (message.hpp,
// model.hpp), its codec, a descriptor here, and one public method of the Client.
#pragma once

#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include "endpoint.hpp"

#include <string_view>

namespace wix::inbox::detail::endpoints {

// Each endpoint's input: views of the public method's arguments, read before it returns.
struct ConversationInput {
    std::string_view conversationId;
};
struct ParticipantInput {
    const ParticipantId& participant;
};
struct ListMessagesInput {
    std::string_view conversationId;
    Visibility visibility;
    const ListMessagesOptions& options;
};
struct SendMessageInput {
    std::string_view conversationId;
    const Message& message;
    const SendMessageOptions& options;
};

/// GET /inbox/v2/conversations/{id}.
extern const Endpoint<ConversationInput, Conversation> getConversation;
/// POST /inbox/v2/conversations: one conversation per participant, so safe to repeat.
extern const Endpoint<ParticipantInput, GetOrCreateConversationResponse> getOrCreateConversation;
/// GET /inbox/v2/messages?conversationId=...
extern const Endpoint<ListMessagesInput, MessagesPage> listMessages;
/// POST /inbox/v2/messages: not idempotent (each send makes a message; no idempotency key).
extern const Endpoint<SendMessageInput, Message> sendMessage;

} // namespace wix::inbox::detail::endpoints
