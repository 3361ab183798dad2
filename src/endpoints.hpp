// SPDX-License-Identifier: BSL-1.0
// The API's endpoints, one descriptor each (see endpoint.hpp), and their inputs.
#pragma once

#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include "endpoint.hpp"

#include <string>
#include <string_view>

namespace wix::inbox::detail::endpoints {

// Each endpoint's input: views of the public method's arguments, read before it returns. An
// input naming a conversation also has `Kept`, its owning copy: with a conversation cache, a
// call whose conversation was merged away is encoded again from it for the new one.
struct ConversationInput {
    std::string_view conversationId;

    struct Kept {
        std::string conversationId;
        ConversationInput view() const { return {conversationId}; }
        bool movable() const { return true; }
    };
    Kept keep() const { return {std::string(conversationId)}; }
};
struct ParticipantInput {
    const ParticipantId& participant;
};
struct ListMessagesInput {
    std::string_view conversationId;
    Visibility visibility;
    const ListMessagesOptions& options;

    struct Kept {
        std::string conversationId;
        Visibility visibility;
        ListMessagesOptions options;
        ListMessagesInput view() const { return {conversationId, visibility, options}; }
        bool movable() const { return !options.cursor; } // a cursor belongs to its conversation
    };
    Kept keep() const { return {std::string(conversationId), visibility, options}; }
};
struct SendMessageInput {
    std::string_view conversationId;
    const Message& message;
    const SendMessageOptions& options;

    struct Kept {
        std::string conversationId;
        Message message;
        SendMessageOptions options;
        SendMessageInput view() const { return {conversationId, message, options}; }
        bool movable() const { return true; }
    };
    Kept keep() const { return {std::string(conversationId), message, options}; }
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
