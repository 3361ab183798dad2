// SPDX-License-Identifier: BSL-1.0
// The emulator's webhooks, end to end: a merge made through the API and the admin endpoint,
// a message either side sends and a button the participant presses are POSTed to a receiver
// on loopback, verify with the public key the emulator wrote and decode into their typed
// values; a merge keeps a client's cache right; a failed delivery is resent on the (scaled)
// schedule with the same event ID.
#define BOOST_TEST_MODULE webhook_delivery
#include <boost/test/unit_test.hpp>

#include "raw_client.hpp"
#include "support.hpp"
#include "webhook_receiver.hpp"

#include "emulator/webhook_sender.hpp"

#include <wix/inbox.hpp>

#include <boost/json/parse.hpp>

#include <fstream>
#include <sstream>

using namespace wix::inbox;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;

namespace {

const std::string site = guid(900);

emulator::Options sendingTo(const test::WebhookReceiver& receiver, double resendScale = 1.0)
{
    emulator::Options o;
    o.webhookUrl = receiver.url();
    o.webhookResendScale = resendScale;
    return o;
}

webhooks::Verifier verifierOf(const Emulator& emu)
{
    std::ifstream in(emu.webhookPublicKeyFile());
    std::stringstream pem;
    pem << in.rdbuf();
    auto verifier = webhooks::Verifier::fromPem(pem.str());
    BOOST_REQUIRE_MESSAGE(verifier.has_value(), verifier.error().describe());
    return *verifier;
}

webhooks::ConversationsMerged mergedIn(const webhooks::Verifier& verifier, const std::string& body)
{
    auto event = verifier.decode(body);
    BOOST_REQUIRE_MESSAGE(event.has_value(), event.error().describe());
    const auto* merged = std::get_if<webhooks::ConversationsMerged>(&*event);
    BOOST_REQUIRE(merged != nullptr);
    return *merged;
}

void promote(const Emulator& emu, const std::string& fromField, const std::string& from, const std::string& toField,
             const std::string& to)
{
    const auto r = test::rawExchange(emu.port(), emu.caFile(),
                                     test::rawRequest("POST", "/_emulator/promote",
                                                      R"({"tenant":"site:)" + site + R"(","from":{")" + fromField
                                                          + R"(":")" + from + R"("},"to":{")" + toField + R"(":")" + to
                                                          + R"("}})"));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
}

ClientOptions siteClient(const Emulator& emu)
{
    auto o = test::optionsFor(emu);
    o.credentials = ApiKey{"a-key", site, {}};
    o.conversationCache.capacity = 100;
    return o;
}

std::string require(const Result<GetOrCreateConversationResponse>& r)
{
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
    return r->conversation.id;
}

test::RawResponse adminCall(const Emulator& emu, const std::string& path, const std::string& body)
{
    return test::rawExchange(emu.port(), emu.caFile(), test::rawRequest("POST", path, body));
}

// The n-th webhook the receiver got (waiting for it), verified and decoded as an E.
template <class E>
E nthEvent(const test::WebhookReceiver& receiver, const webhooks::Verifier& verifier, std::size_t n)
{
    const auto bodies = receiver.bodies(n);
    BOOST_REQUIRE(bodies.size() >= n);
    auto event = verifier.decode(bodies[n - 1]);
    BOOST_REQUIRE_MESSAGE(event.has_value(), event.error().describe());
    const auto* typed = std::get_if<E>(&*event);
    BOOST_REQUIRE_MESSAGE(typed != nullptr, webhooks::toJson(*event));
    return *typed;
}

std::string textOf(const Message& m)
{
    const auto* basic = std::get_if<BasicContent>(&m.content);
    const auto* item = basic && !basic->items.empty() ? std::get_if<TextItem>(&basic->items[0]) : nullptr;
    return item ? item->text : std::string();
}

// The emulator counts a delivery once the receiver's answer is read, a moment after the
// receiver saw the request: wait for the count (bounded), not for a time.
emulator::Stats statsOnceSettled(const Emulator& emu, std::uint64_t delivered)
{
    const auto settled = emu.waitFor(
        [&](const emulator::Stats& s) { return s.webhooksDelivered >= delivered && s.webhooksPending == 0; },
        std::chrono::seconds(30));
    return settled ? *settled : emu.stats(); // the caller's checks say what is missing
}

} // namespace

BOOST_AUTO_TEST_CASE(a_promotion_is_delivered_as_a_signed_merge_event_that_keeps_a_cache_right)
{
    test::WebhookReceiver receiver;
    Emulator emu(sendingTo(receiver));
    BOOST_REQUIRE(!emu.webhookPublicKeyFile().empty());
    const auto verifier = verifierOf(emu);
    net::io_context ioc;
    const auto visitor = ParticipantId::anonymousVisitor(guid(1));
    const auto member = ParticipantId::member(guid(2));
    Client client(ioc.get_executor(), siteClient(emu));
    const auto old = test::run(ioc, client.getOrCreateConversation(visitor));
    const auto target = test::run(ioc, client.getOrCreateConversation(member));
    promote(emu, "anonymousVisitorId", visitor.id(), "memberId", member.id());

    const auto bodies = receiver.bodies(1);
    BOOST_REQUIRE(bodies.size() == 1u);
    const auto merged = mergedIn(verifier, bodies[0]);
    BOOST_TEST(merged.oldConversationIds == std::vector<std::string>{require(old)});
    BOOST_TEST(merged.targetConversationId == require(target));
    BOOST_TEST(isValidGuid(merged.eventId));
    BOOST_TEST(isValidGuid(merged.instanceId));
    BOOST_TEST(merged.accountInfo.siteId.value_or("") == site);
    BOOST_TEST(!merged.eventTime.empty());

    // Applied to the cache, the visitor's next lookup asks the service: the member's conversation.
    BOOST_TEST(client.applyMerge(merged) == 1u);
    BOOST_TEST(require(test::run(ioc, client.getOrCreateConversation(visitor))) == require(target));
    BOOST_TEST(client.stats().conversationCache.reresolved == 0u); // no 404 was needed

    const auto s = statsOnceSettled(emu, 1);
    BOOST_TEST(s.webhooksDelivered == 1u);
    BOOST_TEST(s.webhookFailedAttempts == 0u);
}

// Promoted to a contact with no conversation yet: the merge (and its webhook) happens when
// GetOrCreate makes the contact's conversation.
BOOST_AUTO_TEST_CASE(a_merge_into_a_conversation_made_later_is_delivered_when_it_is_made)
{
    test::WebhookReceiver receiver;
    Emulator emu(sendingTo(receiver));
    const auto verifier = verifierOf(emu);
    net::io_context ioc;
    Client client(ioc.get_executor(), siteClient(emu));
    const auto old = require(test::run(ioc, client.getOrCreateConversation(ParticipantId::anonymousVisitor(guid(3)))));
    promote(emu, "anonymousVisitorId", guid(3), "contactId", guid(4));
    BOOST_TEST(emu.stats().webhooksPending == 0u); // nothing to say yet
    const auto made = test::run(ioc, client.getOrCreateConversation(ParticipantId::contact(guid(4))));
    BOOST_TEST(made->newConversation);
    const auto merged = mergedIn(verifier, receiver.bodies(1).at(0));
    BOOST_TEST(merged.oldConversationIds == std::vector<std::string>{old});
    BOOST_TEST(merged.targetConversationId == require(made));
}

// Answered 500, then not at all (the 1,250 ms limit), then 200: three attempts of one event,
// each signed afresh; Wix's delays scaled down 10,000 times (1 min -> 6 ms, 10 min -> 60 ms).
BOOST_AUTO_TEST_CASE(a_failed_delivery_is_resent_with_the_same_event_id)
{
    test::WebhookReceiver receiver({500, 0, 200});
    Emulator emu(sendingTo(receiver, 0.0001));
    const auto verifier = verifierOf(emu);
    net::io_context ioc;
    Client client(ioc.get_executor(), siteClient(emu));
    test::run(ioc, client.getOrCreateConversation(ParticipantId::anonymousVisitor(guid(5))));
    test::run(ioc, client.getOrCreateConversation(ParticipantId::member(guid(6))));
    promote(emu, "anonymousVisitorId", guid(5), "memberId", guid(6));

    const auto bodies = receiver.bodies(3);
    BOOST_REQUIRE(bodies.size() == 3u);
    const auto first = mergedIn(verifier, bodies[0]);
    for (const auto& body : bodies)
        BOOST_TEST((mergedIn(verifier, body) == first));
    const auto s = statsOnceSettled(emu, 1);
    BOOST_TEST(s.webhooksDelivered == 1u);
    BOOST_TEST(s.webhookFailedAttempts == 2u);
    BOOST_TEST(s.webhooksAbandoned == 0u);
}

BOOST_AUTO_TEST_CASE(the_resend_schedule_is_wixs)
{
    using namespace std::chrono_literals;
    const auto& schedule = emulator::WebhookSender::schedule;
    BOOST_TEST(schedule.size() == 12u);
    std::chrono::seconds total{0};
    for (const auto delay : schedule)
        total += delay;
    BOOST_TEST((total == 47h + 11min));
}

BOOST_AUTO_TEST_CASE(a_webhook_url_that_cannot_be_used_stops_the_start)
{
    for (const auto* url : {"ftp://127.0.0.1/x", "http://", "http://127.0.0.1:80/a b"}) {
        emulator::Options o;
        o.webhookUrl = url;
        BOOST_CHECK_THROW(Emulator{o}, std::runtime_error);
    }
}

// The participant's side, played by the admin call: their conversation is made, the message
// stored and announced to the business with the site's instance and account.
BOOST_AUTO_TEST_CASE(a_participant_message_played_by_the_admin_call_is_delivered_as_sent_to_business)
{
    test::WebhookReceiver receiver;
    Emulator emu(sendingTo(receiver));
    const auto verifier = verifierOf(emu);
    const auto answer = adminCall(emu, "/_emulator/participant-message",
                                  R"({"tenant":"site:)" + site + R"(","participant":{"memberId":")" + guid(10)
                                      + R"("},"text":"Is my order ready?"})");
    BOOST_REQUIRE_MESSAGE(answer.status == 200, answer.body);
    const auto stored = boost::json::parse(answer.body).as_object();

    const auto sent = nthEvent<webhooks::MessageSentToBusiness>(receiver, verifier, 1);
    BOOST_TEST(sent.conversationId == stored.at("conversationId").as_string());
    BOOST_TEST(sent.message.id == stored.at("message").at("id").as_string());
    BOOST_TEST(textOf(sent.message) == "Is my order ready?");
    BOOST_TEST((sent.message.direction == Direction::participantToBusiness));
    BOOST_TEST(sent.message.sender.value_or(IdentificationData{}).memberId.value_or("") == guid(10));
    BOOST_TEST(sent.accountInfo.siteId.value_or("") == site);
    BOOST_TEST(isValidGuid(sent.instanceId));
    BOOST_TEST(isValidGuid(sent.eventId));
    BOOST_TEST(sent.identity.value_or(webhooks::Identity{}).memberId.value_or("") == guid(10));

    // The same conversation the business finds for the member.
    net::io_context ioc;
    Client client(ioc.get_executor(), siteClient(emu));
    BOOST_TEST(require(test::run(ioc, client.getOrCreateConversation(ParticipantId::member(guid(10))))) == sent.conversationId);
    BOOST_TEST(statsOnceSettled(emu, 1).webhooksDelivered == 1u);

    const auto refused = adminCall(emu, "/_emulator/participant-message", R"({"participant":{"memberId":"x"},"text":"a"})");
    BOOST_TEST(refused.status == 400);
    BOOST_TEST(adminCall(emu, "/_emulator/participant-message", R"({"participant":{"memberId":")" + guid(10) + R"("}})")
                   .status
               == 400);
}

// The receiver listens on a port of its own: Host names it, as HTTP requires, with the host
// as the URL gives it.
BOOST_AUTO_TEST_CASE(a_webhook_names_the_receivers_port_in_host)
{
    test::WebhookReceiver receiver;
    const std::string url = receiver.url(); // http://127.0.0.1:PORT/webhooks
    const std::string port = url.substr(url.rfind(':') + 1, url.find("/webhooks") - url.rfind(':') - 1);
    for (const std::string host : {"127.0.0.1", "localhost"}) {
        BOOST_TEST_CONTEXT(host)
        {
            emulator::Options o;
            o.webhookUrl = "http://" + host + ":" + port + "/webhooks";
            Emulator emu(o);
            const auto before = receiver.hosts().size();
            BOOST_REQUIRE(adminCall(emu, "/_emulator/participant-message",
                                    R"({"participant":{"memberId":")" + guid(11) + R"("},"text":"Hi"})")
                              .status
                          == 200);
            BOOST_REQUIRE(receiver.bodies(before + 1).size() == before + 1);
            BOOST_TEST(receiver.hosts().at(before) == host + ":" + port);
        }
    }
}

// Through the API: the message's direction says which event it is.
BOOST_AUTO_TEST_CASE(messages_sent_through_the_api_are_delivered_by_their_direction)
{
    test::WebhookReceiver receiver;
    Emulator emu(sendingTo(receiver));
    const auto verifier = verifierOf(emu);
    net::io_context ioc;
    Client client(ioc.get_executor(), siteClient(emu));
    const auto visitor = ParticipantId::anonymousVisitor(guid(11));
    const auto conversation = require(test::run(ioc, client.getOrCreateConversation(visitor)));

    SendMessageOptions asParticipant;
    asParticipant.sendAs = SendMessageOptions::SendAs::participant;
    Message fromVisitor = textMessage("Hello?", Visibility::businessAndParticipant, Direction::participantToBusiness);
    fromVisitor.sender = IdentificationData{guid(11), std::nullopt, std::nullopt};
    const auto asked = test::run(ioc, client.sendMessage(conversation, fromVisitor, asParticipant));
    BOOST_REQUIRE_MESSAGE(asked.has_value(), asked.error().describe());
    const auto toBusiness = nthEvent<webhooks::MessageSentToBusiness>(receiver, verifier, 1);
    BOOST_TEST(toBusiness.conversationId == conversation);
    BOOST_TEST(toBusiness.message.id == asked->id);
    BOOST_TEST(textOf(toBusiness.message) == "Hello?");
    BOOST_TEST(toBusiness.identity.value_or(webhooks::Identity{}).identityType == "ANONYMOUS_VISITOR");

    const auto answered = test::run(ioc, client.sendMessage(conversation, textMessage("Hello!")));
    BOOST_REQUIRE_MESSAGE(answered.has_value(), answered.error().describe());
    const auto toParticipant = nthEvent<webhooks::MessageSentToParticipant>(receiver, verifier, 2);
    BOOST_TEST(toParticipant.conversationId == conversation);
    BOOST_TEST((toParticipant.message == *answered));
    BOOST_TEST(toParticipant.accountInfo.siteId.value_or("") == site);
    BOOST_TEST(toParticipant.instanceId == toBusiness.instanceId); // one site, one instance
    BOOST_TEST(toParticipant.eventId != toBusiness.eventId);
    BOOST_TEST(statsOnceSettled(emu, 2).webhooksDelivered == 2u);
}

// A card with a postback button, sent by the business; the participant presses the button.
BOOST_AUTO_TEST_CASE(a_pressed_button_is_delivered_as_button_interacted_and_a_missing_one_is_refused)
{
    test::WebhookReceiver receiver;
    Emulator emu(sendingTo(receiver));
    const auto verifier = verifierOf(emu);
    net::io_context ioc;
    Client client(ioc.get_executor(), siteClient(emu));
    const auto conversation = require(test::run(ioc, client.getOrCreateConversation(ParticipantId::member(guid(12)))));
    Message card = textMessage("x");
    TemplateButton yes;
    yes.label = "Yes";
    yes.postbackProperties = PostbackProperties{"confirm-42", std::nullopt};
    TemplateButton track;
    track.label = "Track";
    track.launchUrl = "https://example.com/track";
    card.content = TemplateContent{"Ready?", {"Your order is packed"}, {yes, track}, Orientation::portrait, std::nullopt};
    const auto sent = test::run(ioc, client.sendMessage(conversation, card));
    BOOST_REQUIRE_MESSAGE(sent.has_value(), sent.error().describe());
    const auto announced = nthEvent<webhooks::MessageSentToParticipant>(receiver, verifier, 1);
    BOOST_TEST((std::get<TemplateContent>(announced.message.content) == std::get<TemplateContent>(card.content)));

    const auto press = [&](const std::string& conversationId, const std::string& messageId, const std::string& interactionId) {
        return adminCall(emu, "/_emulator/press-button",
                         R"({"tenant":"site:)" + site + R"(","conversationId":")" + conversationId + R"(","messageId":")"
                             + messageId + R"(","interactionId":")" + interactionId + R"("})");
    };
    // No such button (a launchUrl button has no interaction), message, conversation, or
    // another tenant's conversation; a malformed body.
    BOOST_TEST(press(conversation, sent->id, "cancel").status == 404);
    BOOST_TEST(press(conversation, sent->id, "Track").status == 404);
    BOOST_TEST(press(conversation, "1", "confirm-42").status == 404);
    BOOST_TEST(press(guid(99), sent->id, "confirm-42").status == 404);
    BOOST_TEST(adminCall(emu, "/_emulator/press-button",
                         R"({"conversationId":")" + conversation + R"(","messageId":")" + sent->id
                             + R"(","interactionId":"confirm-42"})")
                   .status
               == 404);
    BOOST_TEST(press("not-a-guid", sent->id, "confirm-42").status == 400);
    BOOST_TEST(adminCall(emu, "/_emulator/press-button", R"({"conversationId":")" + conversation + R"("})").status == 400);

    const auto pressed = press(conversation, sent->id, "confirm-42");
    BOOST_REQUIRE_MESSAGE(pressed.status == 200, pressed.body);
    // The refused presses sent nothing: the next webhook is this press.
    const auto interacted = nthEvent<webhooks::ButtonInteracted>(receiver, verifier, 2);
    BOOST_TEST(interacted.conversationId == conversation);
    BOOST_TEST(interacted.interactionId.value_or("") == "confirm-42");
    BOOST_TEST(interacted.interactedBy.value_or(IdentificationData{}).memberId.value_or("") == guid(12));
    BOOST_TEST(interacted.accountInfo.siteId.value_or("") == site);
    const auto s = statsOnceSettled(emu, 2);
    BOOST_TEST(s.webhooksDelivered == 2u);
    BOOST_TEST(s.webhooksPending == 0u);
}
