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
#include <wix/inbox/webhook_model.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>

namespace wix::inbox::webhooks {

/// The largest body accepted (a webhook is a few KiB).
inline constexpr std::size_t maxBodyBytes = std::size_t{256} * 1024;

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
