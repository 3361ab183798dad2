// SPDX-License-Identifier: BSL-1.0
// wix::inbox::webhooks: verifies and decodes the webhooks Wix POSTs to an app.
//
//     auto verifier = wix::inbox::webhooks::Verifier::fromPem(appPublicKeyPem).value();
//     auto event = verifier.decode(requestBody);            // the whole body is a JWT
//     if (!event) return reply(400);                        // event.error().message says why
//     if (auto* merged = std::get_if<wix::inbox::webhooks::ConversationsMerged>(&*event)) ...
//     if (auto* sent = std::get_if<wix::inbox::webhooks::MessageSentToBusiness>(&*event)) ...
//
// A body is accepted only when it is a JWT signed RS256 with the app's key: the algorithm is
// pinned (`none`, `HS256` and every other `alg` are refused, so the public key can never be
// used as an HMAC secret). Its claim `data` (a JSON string) is decoded, then the envelope's
// own JSON strings (`data`, `identity`). Each Inbox event decodes into its own type, every
// field checked as the codec checks a response (IDs must be GUIDs, required fields present):
// an event whose body is not its type's (say a merge's body under message_sent_to_business)
// is refused, never half-decoded. Events of other types come back as UnknownEvent.
// The claims `exp` and `nbf`, when present, are checked as the official SDK's verifier (jose
// jwtVerify) checks them, with a leeway for clocks that disagree (VerifierOptions).
// Any bad input is an Error with Errc::webhookRejected, never a crash; no part of the token
// is repeated in it.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

namespace wix::inbox::webhooks {

/// The largest body accepted (a webhook is a few KiB).
inline constexpr std::size_t maxBodyBytes = std::size_t{256} * 1024;

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

struct VerifierOptions {
    /// How far the sender's clock may be from ours: a token is refused once `exp` is more
    /// than this in the past, or while `nbf` is more than this in the future. 60 s by
    /// default; 0 checks the times exactly; negative values count as 0.
    std::chrono::seconds clockTolerance{60};
};

/// Verifies webhook bodies with an app's public key. Immutable: thread-safe, cheap to copy.
class Verifier {
public:
    using Clock = std::chrono::system_clock;

    /// `pem`: the app's RSA public key ("-----BEGIN PUBLIC KEY-----", as the app's dashboard
    /// gives it). Errc::invalidArgument for anything else (no RSA key, a private key, garbage).
    static Result<Verifier> fromPem(std::string_view pem, VerifierOptions options = {});

    /// Verifies and decodes one body (at most maxBodyBytes). Errc::webhookRejected with the
    /// reason: malformed JWT, refused algorithm, bad signature, an expired or not yet valid
    /// token, malformed or wrongly nested claims, IDs that are not GUIDs.
    ///
    /// Times, as jose does: refused when `exp` <= now - tolerance or `nbf` > now + tolerance
    /// (in whole seconds), or when either is present but not a number. A token without `exp`
    /// is accepted, as the official SDK accepts it (Wix's carry one, and a resend is signed
    /// afresh); RecentEvents drops a replayed event.
    Result<Event> decode(std::string_view body) const { return decode(body, Clock::now()); }
    /// The same at the time `now` (tests, or a receiver with a clock of its own).
    Result<Event> decode(std::string_view body, Clock::time_point now) const;

    class Key;

private:
    Verifier(std::shared_ptr<const Key> key, std::chrono::seconds tolerance) : key_(std::move(key)), tolerance_(tolerance) {}
    std::shared_ptr<const Key> key_;
    std::chrono::seconds tolerance_;
};

/// Remembers the last `capacity` event IDs, to drop the duplicates Wix's redeliveries bring.
/// Not thread-safe: guard it if events are handled on many threads.
class RecentEvents {
public:
    explicit RecentEvents(std::size_t capacity = 10000) : capacity_(capacity) {}
    /// True the first time `eventId` is seen (among the last `capacity`).
    bool firstTime(const std::string& eventId);

private:
    std::size_t capacity_;
    std::deque<std::string> order_;
    std::unordered_set<std::string> seen_;
};

/// The event as one JSON object for logs and tools: eventType, the metadata's fields
/// (eventId, instanceId, eventTime, accountInfo, identity) and the event's own fields as the
/// wire names them (or, for an unknown event, its envelope).
std::string toJson(const Event& event);

} // namespace wix::inbox::webhooks
