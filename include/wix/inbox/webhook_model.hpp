// SPDX-License-Identifier: BSL-1.0
// wix::inbox::webhooks: the Inbox events Wix POSTs to an app, as values. webhooks.hpp
// verifies a body and decodes it into one of them; a service that receives events already
// decoded (from a queue, a test) needs only this header.
#pragma once

#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace wix::inbox::webhooks {

struct AccountInfo {
    std::optional<std::string> accountId;
    std::optional<std::string> siteId;
    std::optional<std::string> parentAccountId;
    friend bool operator==(const AccountInfo&, const AccountInfo&) = default;
};

/// Who caused the event: identityType (UNKNOWN, ANONYMOUS_VISITOR, MEMBER, WIX_USER, APP)
/// and the matching ID.
struct Identity {
    std::string identityType = "UNKNOWN";
    std::optional<std::string> anonymousVisitorId;
    std::optional<std::string> memberId;
    std::optional<std::string> wixUserId;
    std::optional<std::string> appId;
    friend bool operator==(const Identity&, const Identity&) = default;
};

inline constexpr std::string_view conversationsMergedType = "wix.crm.inbox.v2.conversation_conversations_merged";

/// What every event carries besides its own body: the envelope's fields.
struct EventMetadata {
    std::string eventId;    ///< unique per event: ignore one seen before (RecentEvents)
    std::string instanceId; ///< the app's instance on the site (each site its own)
    std::string eventTime;  ///< ISO-8601 UTC; empty if the event had none
    AccountInfo accountInfo;
    std::optional<Identity> identity;
    friend bool operator==(const EventMetadata&, const EventMetadata&) = default;
};

/// wix.crm.inbox.v2.conversation_conversations_merged: the old conversations are merged into
/// the target one (their IDs are gone).
struct ConversationsMerged : EventMetadata {
    static constexpr std::string_view eventType = conversationsMergedType;
    std::vector<std::string> oldConversationIds; ///< GUIDs, at least one
    std::string targetConversationId;            ///< GUID
    friend bool operator==(const ConversationsMerged&, const ConversationsMerged&) = default;
};

/// The app interaction that made a participant's message (e.g. a pressed button), if any.
struct InteractionInfo {
    std::optional<std::string> appId; ///< GUID
    std::optional<std::string> interactionId;
    friend bool operator==(const InteractionInfo&, const InteractionInfo&) = default;
};

/// wix.crm.inbox.v2.message_message_sent_to_business: a visitor, contact or member sent a
/// message to the business.
struct MessageSentToBusiness : EventMetadata {
    static constexpr std::string_view eventType = "wix.crm.inbox.v2.message_message_sent_to_business";
    std::string conversationId; ///< GUID
    Message message;            ///< as ListMessages gives it: with its ID
    std::optional<InteractionInfo> interactionInfo;
    friend bool operator==(const MessageSentToBusiness&, const MessageSentToBusiness&) = default;
};

/// wix.crm.inbox.v2.message_message_sent_to_participant: the business (an app or the site's
/// owner) sent a message.
struct MessageSentToParticipant : EventMetadata {
    static constexpr std::string_view eventType = "wix.crm.inbox.v2.message_message_sent_to_participant";
    std::string conversationId; ///< GUID
    Message message;            ///< with its ID
    friend bool operator==(const MessageSentToParticipant&, const MessageSentToParticipant&) = default;
};

/// wix.crm.inbox.v2.message_button_interacted: a participant pressed a template button that
/// has postbackProperties (TemplateButton).
struct ButtonInteracted : EventMetadata {
    static constexpr std::string_view eventType = "wix.crm.inbox.v2.message_button_interacted";
    std::string conversationId;               ///< GUID
    std::optional<std::string> appId;         ///< GUID of the app that sent the template
    std::optional<std::string> interactionId; ///< the button's PostbackProperties::interactionId
    std::optional<IdentificationData> interactedBy; ///< who pressed it
    friend bool operator==(const ButtonInteracted&, const ButtonInteracted&) = default;
};

/// A verified event of another type: its envelope's fields and the envelope as JSON text.
struct UnknownEvent {
    std::string eventType;
    std::string instanceId;
    std::string json;
};

/// One verified event. Every alternative but UnknownEvent has a `static eventType` (the
/// envelope's eventType it decodes) and derives from EventMetadata. Alternatives may be added.
using Event
    = std::variant<ConversationsMerged, UnknownEvent, MessageSentToBusiness, MessageSentToParticipant, ButtonInteracted>;

} // namespace wix::inbox::webhooks
