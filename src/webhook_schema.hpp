// SPDX-License-Identifier: BSL-1.0
// The JSON of the webhook events, listed once: each event's body (Schema<E>, read from the
// domain event's actionEvent.body and written flat by toJson), and the envelope that carries
// every event, nested as Wix nests it:
//
//     JWT claim data: "{eventType, instanceId, accountInfo, identity: "<Identity>",
//                       data: "{id, entityFqdn, slug, eventTime, actionEvent: {body: E}}"}"
//
// A new event type costs its model struct (webhook_model.hpp, also an alternative of Event) and
// its Schema here.
#pragma once

#include "message_schema.hpp"

#include <wix/inbox/webhook_model.hpp>

namespace wix::inbox::detail::json_schema {

template <>
struct Schema<webhooks::AccountInfo> {
    static constexpr auto fields = std::tuple{
        field("accountId", &webhooks::AccountInfo::accountId),
        field("siteId", &webhooks::AccountInfo::siteId),
        field("parentAccountId", &webhooks::AccountInfo::parentAccountId),
    };
};

template <>
struct Schema<webhooks::Identity> {
    static constexpr auto fields = std::tuple{
        field("identityType", &webhooks::Identity::identityType),
        field("anonymousVisitorId", &webhooks::Identity::anonymousVisitorId),
        field("memberId", &webhooks::Identity::memberId),
        field("wixUserId", &webhooks::Identity::wixUserId),
        field("appId", &webhooks::Identity::appId),
    };
};

// The flat form toJson prints; the wire spreads these fields over the envelope (below).
template <>
struct Schema<webhooks::EventMetadata> {
    static constexpr auto fields = std::tuple{
        field("eventId", &webhooks::EventMetadata::eventId),
        field("instanceId", &webhooks::EventMetadata::instanceId),
        field("eventTime", &webhooks::EventMetadata::eventTime),
        field("accountInfo", &webhooks::EventMetadata::accountInfo),
        field("identity", &webhooks::EventMetadata::identity),
    };
};

// The bodies. A body never names its envelope's fields (they are EventMetadata's).

template <>
struct Schema<webhooks::ConversationsMerged> {
    static constexpr auto fields = std::tuple{
        field("oldConversationIds", &webhooks::ConversationsMerged::oldConversationIds, required | guid),
        field("targetConversationId", &webhooks::ConversationsMerged::targetConversationId, required | guid),
    };
    static std::string_view missing(const webhooks::ConversationsMerged& e)
    {
        return e.oldConversationIds.empty() ? "oldConversationIds" : "";
    }
};

template <>
struct Schema<webhooks::InteractionInfo> {
    static constexpr auto fields = std::tuple{
        field("appId", &webhooks::InteractionInfo::appId, guid),
        field("interactionId", &webhooks::InteractionInfo::interactionId),
    };
};

// The service gives a message its ID: an event about one without is not a message event.
inline std::string_view missingMessageId(const Message& m)
{
    return m.id.empty() ? "message.id" : "";
}

template <>
struct Schema<webhooks::MessageSentToBusiness> {
    static constexpr auto fields = std::tuple{
        field("conversationId", &webhooks::MessageSentToBusiness::conversationId, required | guid),
        field("message", &webhooks::MessageSentToBusiness::message, required),
        field("interactionInfo", &webhooks::MessageSentToBusiness::interactionInfo),
    };
    static std::string_view missing(const webhooks::MessageSentToBusiness& e) { return missingMessageId(e.message); }
};

template <>
struct Schema<webhooks::MessageSentToParticipant> {
    static constexpr auto fields = std::tuple{
        field("conversationId", &webhooks::MessageSentToParticipant::conversationId, required | guid),
        field("message", &webhooks::MessageSentToParticipant::message, required),
    };
    static std::string_view missing(const webhooks::MessageSentToParticipant& e) { return missingMessageId(e.message); }
};

template <>
struct Schema<webhooks::ButtonInteracted> {
    static constexpr auto fields = std::tuple{
        field("conversationId", &webhooks::ButtonInteracted::conversationId, required | guid),
        field("appId", &webhooks::ButtonInteracted::appId, guid),
        field("interactionId", &webhooks::ButtonInteracted::interactionId),
        field("interactedBy", &webhooks::ButtonInteracted::interactedBy),
    };
};

// The envelope, as the wire nests it; E is the event's model type, of which only the body's
// fields are read here.

template <class E>
using ActionEvent = Wrapped<E, "body">;

template <class E>
struct DomainEvent {
    std::string id;
    std::optional<std::string> entityFqdn;
    std::optional<std::string> slug;
    std::string eventTime;
    ActionEvent<E> actionEvent;
};
template <class E>
struct Schema<DomainEvent<E>> {
    static constexpr auto fields = std::tuple{
        field("id", &DomainEvent<E>::id, required),
        field("entityFqdn", &DomainEvent<E>::entityFqdn),
        field("slug", &DomainEvent<E>::slug),
        field("eventTime", &DomainEvent<E>::eventTime),
        field("actionEvent", &DomainEvent<E>::actionEvent, required),
    };
    // An event without its ID cannot be told from its resends.
    static std::string_view missing(const DomainEvent<E>& d) { return d.id.empty() ? "id" : ""; }
};

/// A body left unread: an event's names (Envelope<Unread>) are looked at before its body.
struct Unread {};
template <>
struct Schema<Unread> {
    static constexpr auto fields = std::tuple{};
};

/// The envelope's fields every event type shares: read first, to choose the type.
struct EnvelopeHead {
    std::string eventType;
    std::string instanceId;
};
template <>
struct Schema<EnvelopeHead> {
    static constexpr auto fields = std::tuple{
        field("eventType", &EnvelopeHead::eventType, required),
        field("instanceId", &EnvelopeHead::instanceId, required),
    };
};

template <class E>
struct Envelope {
    std::string eventType;
    std::string instanceId;
    webhooks::AccountInfo accountInfo;
    std::optional<webhooks::Identity> identity;
    DomainEvent<E> data;
};
template <class E>
struct Schema<Envelope<E>> {
    static constexpr auto fields = std::tuple{
        field("eventType", &Envelope<E>::eventType, required),
        field("instanceId", &Envelope<E>::instanceId, required),
        field("accountInfo", &Envelope<E>::accountInfo),
        field("identity", &Envelope<E>::identity, jsonText),
        field("data", &Envelope<E>::data, required | jsonText),
    };
};

} // namespace wix::inbox::detail::json_schema
