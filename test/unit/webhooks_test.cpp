// SPDX-License-Identifier: BSL-1.0
// Webhook verification: signed bodies decode; every other body is refused with a reason.
// The tests sign their own tokens with a fresh RSA key (OpenSSL), as Wix signs with an app's.
#define BOOST_TEST_MODULE webhooks
#include <boost/test/unit_test.hpp>

#include "webhook_signer.hpp"

#include <wix/inbox/webhooks.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/hmac.h>

using namespace wix::inbox;
using namespace wix::inbox::webhooks;
namespace json = boost::json;

using test::base64url;
using test::Key;
using test::newKey;
using test::publicPem;
using test::rs256;

namespace {

const std::string oldId = "11111111-0000-4000-8000-000000000001";
const std::string targetId = "22222222-0000-4000-8000-000000000002";

// The envelope Wix puts in the `data` claim, with the domain event as a JSON string.
std::string envelope(const std::string& eventType = std::string(conversationsMergedType),
                     const std::string& domainEvent = {})
{
    const std::string event = !domainEvent.empty() ? domainEvent
        : json::serialize(json::object{{"id", "event-1"}, {"entityFqdn", "wix.crm.inbox.v2.conversation"},
                                       {"slug", "conversations_merged"}, {"entityId", targetId},
                                       {"eventTime", "2026-12-02T08:00:00.000Z"},
                                       {"actionEvent", json::object{{"body", json::object{
                                           {"oldConversationIds", json::array{oldId}},
                                           {"targetConversationId", targetId}}}}}});
    return json::serialize(json::object{
        {"eventType", eventType}, {"instanceId", "instance-1"},
        {"identity", R"({"identityType":"MEMBER","memberId":"33333333-0000-4000-8000-000000000003"})"},
        {"data", event}, {"accountInfo", json::object{{"accountId", "account-1"}, {"siteId", "site-1"}}}});
}

std::string token(EVP_PKEY* key, const std::string& data = envelope(), const std::string& header = R"({"alg":"RS256","typ":"JWT"})")
{
    const std::string signedPart = base64url(header) + "." + base64url(json::serialize(json::object{{"data", data}}));
    return signedPart + "." + base64url(rs256(key, signedPart));
}

// A token whose claims also hold `times` (exp, nbf, iat).
std::string timedToken(EVP_PKEY* key, json::object times)
{
    times["data"] = envelope();
    const std::string signedPart = base64url(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url(json::serialize(times));
    return signedPart + "." + base64url(rs256(key, signedPart));
}

std::string reasonOf(const Verifier& v, const std::string& body, Verifier::Clock::time_point now = Verifier::Clock::now())
{
    const auto r = v.decode(body, now);
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST(r.error().code == make_error_code(Errc::webhookRejected));
    return r.error().message;
}

const std::string conversationId = "44444444-0000-4000-8000-000000000004";
const std::string appId = "55555555-0000-4000-8000-000000000005";
const std::string visitorId = "66666666-0000-4000-8000-000000000006";
const std::string messageEntity = "wix.crm.inbox.v2.message";

// A domain event as Wix writes it: an action event whose body is `body`.
std::string domainEvent(const std::string& entityFqdn, const std::string& slug, json::object body)
{
    return json::serialize(json::object{{"id", "event-" + slug}, {"entityFqdn", entityFqdn}, {"slug", slug},
                                        {"entityId", conversationId}, {"eventTime", "2026-12-03T09:00:00.000Z"},
                                        {"actionEvent", json::object{{"body", std::move(body)}}}});
}

// A message as the service stores it: a card whose button reports its presses.
json::object storedMessage(const std::string& direction)
{
    return json::parse(R"({"id":"1000000000007","sequence":"3","createdDate":"2026-12-03T09:00:00.000Z",
        "direction":")" + direction + R"(","visibility":"BUSINESS_AND_PARTICIPANT",
        "sender":{"anonymousVisitorId":")" + visitorId + R"("},
        "content":{"template":{"title":"Pick one","buttons":[{"label":"Yes","postbackProperties":{"interactionId":"yes"}}]}}})")
        .as_object();
}

std::string mergeBody()
{
    return domainEvent("wix.crm.inbox.v2.conversation", "conversations_merged",
                       json::object{{"oldConversationIds", json::array{oldId}}, {"targetConversationId", targetId}});
}

std::string messageEventType(const std::string& slug)
{
    return messageEntity + "_" + slug;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_signed_merge_event_decodes)
{
    const auto key = newKey();
    const auto verifier = Verifier::fromPem(publicPem(key.get())).value();
    const auto event = verifier.decode(token(key.get()) + "\n");
    BOOST_REQUIRE_MESSAGE(event.has_value(), event.error().describe());
    const auto& merged = std::get<ConversationsMerged>(*event);
    BOOST_TEST(merged.eventId == "event-1");
    BOOST_TEST(merged.instanceId == "instance-1");
    BOOST_TEST(merged.oldConversationIds == std::vector<std::string>{oldId}, boost::test_tools::per_element());
    BOOST_TEST(merged.targetConversationId == targetId);
    BOOST_TEST(merged.eventTime == "2026-12-02T08:00:00.000Z");
    BOOST_TEST(*merged.accountInfo.siteId == "site-1");
    BOOST_REQUIRE(merged.identity.has_value());
    BOOST_TEST(merged.identity->identityType == "MEMBER");
    BOOST_TEST(*merged.identity->memberId == "33333333-0000-4000-8000-000000000003");
    const auto printed = json::parse(toJson(*event)).as_object();
    BOOST_TEST(printed.at("targetConversationId").as_string() == targetId);
    BOOST_TEST(printed.at("eventType").as_string() == conversationsMergedType);
}

BOOST_AUTO_TEST_CASE(other_event_types_are_unknown_events_not_errors)
{
    const auto key = newKey();
    const auto verifier = Verifier::fromPem(publicPem(key.get())).value();
    const auto event = verifier.decode(token(key.get(), envelope("wix.crm.inbox.v2.message_sent", R"({"id":"e"})")));
    BOOST_REQUIRE(event.has_value());
    const auto& unknown = std::get<UnknownEvent>(*event);
    BOOST_TEST(unknown.eventType == "wix.crm.inbox.v2.message_sent");
    BOOST_TEST(json::parse(unknown.json).at("instanceId").as_string() == "instance-1");
}

BOOST_AUTO_TEST_CASE(every_forgery_and_malformed_body_is_refused)
{
    const auto key = newKey();
    const auto other = newKey();
    const std::string pem = publicPem(key.get());
    const auto verifier = Verifier::fromPem(pem).value();
    const std::string good = token(key.get());
    const auto dot = good.rfind('.');

    // A payload changed after signing.
    const std::string forged = base64url(R"({"alg":"RS256"})") + "."
                             + base64url(json::serialize(json::object{{"data", envelope(std::string(conversationsMergedType),
                                                                                        R"({"id":"x"})")}}))
                             + good.substr(dot);
    BOOST_TEST(reasonOf(verifier, forged).find("signature") != std::string::npos);
    // Signed with another key.
    BOOST_TEST(reasonOf(verifier, token(other.get())).find("signature") != std::string::npos);
    // alg none, with or without a signature.
    const std::string unsignedPart = base64url(R"({"alg":"none"})") + "." + good.substr(good.find('.') + 1, dot - good.find('.') - 1);
    BOOST_TEST(reasonOf(verifier, unsignedPart + ".").find("RS256") != std::string::npos);
    // HS256 keyed with the public key's PEM: the classic confusion, refused by the pinned alg.
    const std::string hsPart = base64url(R"({"alg":"HS256","typ":"JWT"})") + "." + good.substr(good.find('.') + 1, dot - good.find('.') - 1);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int macSize = 0;
    HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()), reinterpret_cast<const unsigned char*>(hsPart.data()),
         hsPart.size(), mac, &macSize);
    BOOST_TEST(reasonOf(verifier, hsPart + "." + base64url(std::string(reinterpret_cast<char*>(mac), macSize)))
                   .find("RS256") != std::string::npos);
    // Truncated, empty, not a JWT, oversized.
    BOOST_TEST(reasonOf(verifier, good.substr(0, good.size() - 10)).find("signature") != std::string::npos);
    BOOST_TEST(reasonOf(verifier, good.substr(0, dot)).find("not a JWT") != std::string::npos);
    BOOST_TEST(reasonOf(verifier, "").find("not a JWT") != std::string::npos);
    BOOST_TEST(reasonOf(verifier, good + ".x").find("not a JWT") != std::string::npos);
    BOOST_TEST(reasonOf(verifier, "a*b.c.d").find("base64url") != std::string::npos);
    BOOST_TEST(reasonOf(verifier, std::string(maxBodyBytes + 1, 'a')).find("larger") != std::string::npos);
    // Signed but wrongly nested: data not a string, the event not JSON, IDs that are not GUIDs.
    const std::string notString = base64url(R"({"alg":"RS256"})") + "." + base64url(R"({"data":{"eventType":"x"}})");
    BOOST_TEST(reasonOf(verifier, notString + "." + base64url(rs256(key.get(), notString))).find("data claim")
               != std::string::npos);
    BOOST_TEST(reasonOf(verifier, token(key.get(), envelope(std::string(conversationsMergedType), "{not json"))).find("data")
               != std::string::npos);
    const std::string badTarget = R"({"id":"e","actionEvent":{"body":{"oldConversationIds":[")" + oldId
                                + R"("],"targetConversationId":"../x"}}})";
    BOOST_TEST(reasonOf(verifier, token(key.get(), envelope(std::string(conversationsMergedType), badTarget))).find("GUID")
               != std::string::npos);
    BOOST_TEST(reasonOf(verifier, token(key.get(), R"({"instanceId":"i"})")).find("eventType") != std::string::npos);
}

// The clock is injected: half a second past a whole second, which jose's check floors away.
BOOST_AUTO_TEST_CASE(exp_and_nbf_are_checked_with_a_leeway_as_the_sdk_checks_them)
{
    const auto key = newKey();
    const auto verifier = Verifier::fromPem(publicPem(key.get())).value(); // 60 s leeway
    const std::int64_t t = 1'800'000'000;
    const auto now = Verifier::Clock::time_point(std::chrono::seconds(t)) + std::chrono::milliseconds(500);
    const auto accepted = [&](json::object times) {
        const auto r = verifier.decode(timedToken(key.get(), std::move(times)), now);
        return r.has_value() ? std::string() : r.error().message;
    };

    // Within the leeway, either side; and a token without exp, as the SDK accepts it.
    BOOST_TEST(accepted({{"iat", t - 3600}, {"exp", t - 59}}) == "");
    BOOST_TEST(accepted({{"nbf", t + 60}, {"exp", t + 3600}}) == "");
    BOOST_TEST(accepted({{"iat", t}}) == "");

    const std::string expired = timedToken(key.get(), {{"iat", t - 7200}, {"exp", t - 3600}});
    const auto why = reasonOf(verifier, expired, now);
    BOOST_TEST(why.find("expired") != std::string::npos, why);
    BOOST_TEST(why.find("3600 s past") != std::string::npos, why);
    BOOST_TEST(why.find("60 s leeway") != std::string::npos, why);
    for (const auto& part : {expired.substr(0, 16), expired.substr(expired.find('.') + 1, 16),
                             expired.substr(expired.rfind('.') + 1, 16)}) // no part of the token
        BOOST_TEST(why.find(part) == std::string::npos, why);
    BOOST_TEST(reasonOf(verifier, timedToken(key.get(), {{"exp", t - 60}}), now).find("expired") != std::string::npos);
    BOOST_TEST(reasonOf(verifier, timedToken(key.get(), {{"nbf", t + 61}}), now).find("not valid yet")
               != std::string::npos);
    BOOST_TEST(reasonOf(verifier, timedToken(key.get(), {{"exp", "tomorrow"}}), now).find("not a number")
               != std::string::npos);
    BOOST_TEST(reasonOf(verifier, timedToken(key.get(), {{"nbf", nullptr}}), now).find("not a number")
               != std::string::npos);
    // The same token is fine at the time it was made for.
    BOOST_TEST(verifier.decode(expired, Verifier::Clock::time_point(std::chrono::seconds(t - 5000))).has_value());

    // Without leeway the times are exact: exp is the first second the token is refused.
    const auto exact = Verifier::fromPem(publicPem(key.get()), {.clockTolerance = std::chrono::seconds(0)}).value();
    BOOST_TEST(exact.decode(timedToken(key.get(), {{"exp", t + 1}}), now).has_value());
    BOOST_TEST(exact.decode(timedToken(key.get(), {{"exp", t}}), now).has_error());
    BOOST_TEST(exact.decode(timedToken(key.get(), {{"nbf", t}}), now).has_value());
    BOOST_TEST(exact.decode(timedToken(key.get(), {{"nbf", t + 1}}), now).has_error());
}

BOOST_AUTO_TEST_CASE(only_an_rsa_public_key_makes_a_verifier)
{
    BOOST_TEST(Verifier::fromPem("").error().code == make_error_code(Errc::invalidArgument));
    BOOST_TEST(Verifier::fromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").has_error());
    Key ec(EVP_EC_gen("P-256"), EVP_PKEY_free);
    BOOST_TEST(Verifier::fromPem(publicPem(ec.get())).error().message.find("RSA") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(recent_events_drop_duplicates_within_their_capacity)
{
    RecentEvents recent(2);
    BOOST_TEST(recent.firstTime("a"));
    BOOST_TEST(!recent.firstTime("a"));
    BOOST_TEST(recent.firstTime("b"));
    BOOST_TEST(recent.firstTime("c")); // "a" is forgotten
    BOOST_TEST(recent.firstTime("a"));
    BOOST_TEST(!recent.firstTime("c"));
}

BOOST_AUTO_TEST_CASE(a_message_sent_to_the_business_decodes_into_its_type)
{
    const auto key = newKey();
    const auto verifier = Verifier::fromPem(publicPem(key.get())).value();
    const std::string body = domainEvent(
        messageEntity, "message_sent_to_business",
        json::object{{"conversationId", conversationId}, {"message", storedMessage("PARTICIPANT_TO_BUSINESS")},
                     {"interactionInfo", json::object{{"appId", appId}, {"interactionId", "yes"}}}});
    BOOST_TEST(MessageSentToBusiness::eventType == messageEventType("message_sent_to_business"));
    const auto event = verifier.decode(token(key.get(), envelope(std::string(MessageSentToBusiness::eventType), body)));
    BOOST_REQUIRE_MESSAGE(event.has_value(), event.error().describe());
    const auto& sent = std::get<MessageSentToBusiness>(*event);
    BOOST_TEST(sent.eventId == "event-message_sent_to_business");
    BOOST_TEST(sent.instanceId == "instance-1");
    BOOST_TEST(sent.eventTime == "2026-12-03T09:00:00.000Z");
    BOOST_TEST(sent.accountInfo.siteId.value_or("") == "site-1");
    BOOST_TEST(sent.identity.value_or(Identity{}).identityType == "MEMBER");
    BOOST_TEST(sent.conversationId == conversationId);
    BOOST_TEST(sent.message.id == "1000000000007");
    BOOST_TEST(sent.message.sequence.value_or(0) == 3);
    BOOST_TEST((sent.message.direction == Direction::participantToBusiness));
    BOOST_TEST(sent.message.sender.value_or(IdentificationData{}).anonymousVisitorId.value_or("") == visitorId);
    const auto& card = std::get<TemplateContent>(sent.message.content);
    BOOST_TEST(card.buttons.at(0).postbackProperties.value_or(PostbackProperties{}).interactionId == "yes");
    BOOST_REQUIRE(sent.interactionInfo.has_value());
    BOOST_TEST(sent.interactionInfo->appId.value_or("") == appId);
    BOOST_TEST(sent.interactionInfo->interactionId.value_or("") == "yes");

    const auto printed = json::parse(toJson(*event)).as_object();
    BOOST_TEST(printed.at("eventType").as_string() == MessageSentToBusiness::eventType);
    BOOST_TEST(printed.at("eventId").as_string() == "event-message_sent_to_business");
    BOOST_TEST(printed.at("conversationId").as_string() == conversationId);
    BOOST_TEST(printed.at("message").at("id").as_string() == "1000000000007");
    BOOST_TEST(printed.at("identity").at("memberId").as_string() == "33333333-0000-4000-8000-000000000003");
}

BOOST_AUTO_TEST_CASE(a_message_sent_to_the_participant_decodes_into_its_type)
{
    const auto key = newKey();
    const auto verifier = Verifier::fromPem(publicPem(key.get())).value();
    const std::string body
        = domainEvent(messageEntity, "message_sent_to_participant",
                      json::object{{"conversationId", conversationId}, {"message", storedMessage("BUSINESS_TO_PARTICIPANT")}});
    BOOST_TEST(MessageSentToParticipant::eventType == messageEventType("message_sent_to_participant"));
    const auto event = verifier.decode(token(key.get(), envelope(std::string(MessageSentToParticipant::eventType), body)));
    BOOST_REQUIRE_MESSAGE(event.has_value(), event.error().describe());
    const auto& sent = std::get<MessageSentToParticipant>(*event);
    BOOST_TEST(sent.eventId == "event-message_sent_to_participant");
    BOOST_TEST(sent.conversationId == conversationId);
    BOOST_TEST((sent.message.direction == Direction::businessToParticipant));
    BOOST_TEST(std::get<TemplateContent>(sent.message.content).title.value_or("") == "Pick one");
}

BOOST_AUTO_TEST_CASE(a_pressed_button_decodes_into_its_type)
{
    const auto key = newKey();
    const auto verifier = Verifier::fromPem(publicPem(key.get())).value();
    const std::string body = domainEvent(
        messageEntity, "button_interacted",
        json::object{{"conversationId", conversationId}, {"appId", appId}, {"interactionId", "yes"},
                     {"interactedBy", json::object{{"anonymousVisitorId", visitorId}}}});
    BOOST_TEST(ButtonInteracted::eventType == messageEventType("button_interacted"));
    const auto event = verifier.decode(token(key.get(), envelope(std::string(ButtonInteracted::eventType), body)));
    BOOST_REQUIRE_MESSAGE(event.has_value(), event.error().describe());
    const auto& pressed = std::get<ButtonInteracted>(*event);
    BOOST_TEST(pressed.eventId == "event-button_interacted");
    BOOST_TEST(pressed.instanceId == "instance-1");
    BOOST_TEST(pressed.conversationId == conversationId);
    BOOST_TEST(pressed.appId.value_or("") == appId);
    BOOST_TEST(pressed.interactionId.value_or("") == "yes");
    BOOST_TEST(pressed.interactedBy.value_or(IdentificationData{}).anonymousVisitorId.value_or("") == visitorId);
    BOOST_TEST(json::parse(toJson(*event)).at("interactedBy").at("anonymousVisitorId").as_string() == visitorId);
}

BOOST_AUTO_TEST_CASE(a_message_event_is_refused_with_another_key_expired_or_with_another_events_body)
{
    const auto key = newKey();
    const auto other = newKey();
    const auto verifier = Verifier::fromPem(publicPem(key.get())).value();
    const std::string toBusiness(MessageSentToBusiness::eventType);
    const std::string good = domainEvent(
        messageEntity, "message_sent_to_business",
        json::object{{"conversationId", conversationId}, {"message", storedMessage("PARTICIPANT_TO_BUSINESS")}});
    BOOST_REQUIRE(verifier.decode(token(key.get(), envelope(toBusiness, good))).has_value());

    BOOST_TEST(reasonOf(verifier, token(other.get(), envelope(toBusiness, good))).find("signature") != std::string::npos);
    const std::int64_t t = 1'800'000'000;
    const std::string signedPart = base64url(R"({"alg":"RS256"})") + "."
        + base64url(json::serialize(json::object{{"data", envelope(toBusiness, good)}, {"iat", t - 7200}, {"exp", t - 3600}}));
    const auto expired = reasonOf(verifier, signedPart + "." + base64url(rs256(key.get(), signedPart)),
                                  Verifier::Clock::time_point(std::chrono::seconds(t)));
    BOOST_TEST(expired.find("expired") != std::string::npos, expired);

    // A merge's domain event under message_sent_to_business: refused, whether it says what it
    // is (slug) or not (its shape lacks the message's fields).
    const auto named = reasonOf(verifier, token(key.get(), envelope(toBusiness, mergeBody())));
    BOOST_TEST(named.find("names another event type") != std::string::npos, named);
    auto unnamed = json::parse(mergeBody()).as_object();
    unnamed.erase("slug");
    unnamed.erase("entityFqdn");
    const auto shape = reasonOf(verifier, token(key.get(), envelope(toBusiness, json::serialize(unnamed))));
    BOOST_TEST(shape == "missing field 'data.actionEvent.body.conversationId'");
    // And a message event's body under the merge's type.
    auto asMerge = json::parse(good).as_object();
    asMerge.erase("slug");
    BOOST_TEST(reasonOf(verifier, token(key.get(), envelope(std::string(conversationsMergedType), json::serialize(asMerge))))
               == "missing field 'data.actionEvent.body.oldConversationIds'");

    // Half a message: no ID, a conversation that is not a GUID, a button press's appId that is not one.
    auto noId = storedMessage("PARTICIPANT_TO_BUSINESS");
    noId.erase("id");
    BOOST_TEST(reasonOf(verifier, token(key.get(), envelope(toBusiness, domainEvent(messageEntity, "message_sent_to_business",
                                                                                    json::object{{"conversationId", conversationId},
                                                                                                 {"message", noId}}))))
               == "missing field 'data.actionEvent.body.message.id'");
    BOOST_TEST(reasonOf(verifier, token(key.get(), envelope(toBusiness, domainEvent(messageEntity, "message_sent_to_business",
                                                                                    json::object{{"conversationId", "../x"},
                                                                                                 {"message", noId}}))))
               == "field 'data.actionEvent.body.conversationId' is not a GUID");
    BOOST_TEST(reasonOf(verifier, token(key.get(), envelope(std::string(ButtonInteracted::eventType),
                                                            domainEvent(messageEntity, "button_interacted",
                                                                        json::object{{"conversationId", conversationId},
                                                                                     {"appId", "app"}}))))
               == "field 'data.actionEvent.body.appId' is not a GUID");
    // The identity, too, is JSON text of an object.
    auto env = json::parse(envelope(toBusiness, good)).as_object();
    env["identity"] = "{";
    BOOST_TEST(reasonOf(verifier, token(key.get(), json::serialize(env))) == "field 'identity' is not valid JSON text");
}
