// wix::inbox::webhooks: verifies and decodes the webhooks Wix POSTs to an app.
//
//     auto verifier = wix::inbox::webhooks::Verifier::fromPem(appPublicKeyPem).value();
//     auto event = verifier.decode(requestBody);            // the whole body is a JWT
//     if (!event) return reply(400);                        // event.error().message says why
//     if (auto* merged = std::get_if<wix::inbox::webhooks::ConversationsMerged>(&*event)) ...
//
// A body is accepted only when it is a JWT signed RS256 with the app's key: the algorithm is
// pinned (`none`, `HS256` and every other `alg` are refused, so the public key can never be
// used as an HMAC secret). Its claim `data` (a JSON string) is decoded, then the envelope's
// own JSON strings (`data`, `identity`). Events of other types come back as UnknownEvent.
// Any bad input is an Error with Errc::webhookRejected, never a crash.
#pragma once

#include <wix/inbox/error.hpp>

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
    std::string identityType;
    std::optional<std::string> anonymousVisitorId;
    std::optional<std::string> memberId;
    std::optional<std::string> wixUserId;
    std::optional<std::string> appId;
    friend bool operator==(const Identity&, const Identity&) = default;
};

/// wix.crm.inbox.v2.conversation_conversations_merged: the old conversations are merged into
/// the target one (their IDs are gone).
struct ConversationsMerged {
    std::string eventId; ///< unique per event: ignore one seen before (RecentEvents)
    std::string instanceId;
    std::vector<std::string> oldConversationIds; ///< GUIDs
    std::string targetConversationId;            ///< GUID
    std::string eventTime;                       ///< ISO-8601
    AccountInfo accountInfo;
    std::optional<Identity> identity;
    friend bool operator==(const ConversationsMerged&, const ConversationsMerged&) = default;
};

/// A verified event of another type: its envelope's fields and the envelope as JSON text.
struct UnknownEvent {
    std::string eventType;
    std::string instanceId;
    std::string json;
};

using Event = std::variant<ConversationsMerged, UnknownEvent>;

inline constexpr std::string_view conversationsMergedType = "wix.crm.inbox.v2.conversation_conversations_merged";

/// Verifies webhook bodies with an app's public key. Immutable: thread-safe, cheap to copy.
class Verifier {
public:
    /// `pem`: the app's RSA public key ("-----BEGIN PUBLIC KEY-----", as the app's dashboard
    /// gives it). Errc::invalidArgument for anything else (no RSA key, a private key, garbage).
    static Result<Verifier> fromPem(std::string_view pem);

    /// Verifies and decodes one body (at most maxBodyBytes). Errc::webhookRejected with the
    /// reason: malformed JWT, refused algorithm, bad signature, malformed or wrongly nested
    /// claims, IDs that are not GUIDs.
    Result<Event> decode(std::string_view body) const;

    class Key;

private:
    explicit Verifier(std::shared_ptr<const Key> key) : key_(std::move(key)) {}
    std::shared_ptr<const Key> key_;
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

/// The event as one JSON object for logs and tools: eventType, eventId, instanceId, and the
/// merge's fields (or the unknown event's envelope).
std::string toJson(const Event& event);

} // namespace wix::inbox::webhooks
