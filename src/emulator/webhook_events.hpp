// SPDX-License-Identifier: BSL-1.0
// The events the emulated service announces by webhook, and their envelopes as Wix writes
// them: {eventType, instanceId, identity: "<JSON>", data: "<JSON domain event>", accountInfo},
// with the tenant's instance and account, and a fresh event ID each.
#pragma once

#include "emulator/conversation_store.hpp"

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace wix::inbox::emulator {

/// Conversations merged into a target, in a tenant (a label as in the stats).
struct MergeEvent {
    std::string tenant;
    std::vector<std::string> oldConversationIds;
    std::string targetConversationId;
};

/// A message stored in a conversation: `message_sent_to_business` when its direction is
/// PARTICIPANT_TO_BUSINESS, else `message_sent_to_participant`.
struct MessageEvent {
    std::shared_ptr<const ConversationStore::Conversation> conversation;
    std::string message; ///< as stored (JSON, with its ID)
    bool toBusiness = false;
};

/// The participant pressed a template button with postbackProperties: `button_interacted`.
struct ButtonEvent {
    std::shared_ptr<const ConversationStore::Conversation> conversation;
    std::string interactionId;
    std::optional<std::string> appId; ///< the button's postbackProperties.appId, if it has one
};

using WebhookEvent = std::variant<MergeEvent, MessageEvent, ButtonEvent>;

/// The event's envelope (JSON), as the `data` claim of its webhook carries it.
std::string envelopeOf(const WebhookEvent& event);

} // namespace wix::inbox::emulator
