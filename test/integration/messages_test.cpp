// SPDX-License-Identifier: BSL-1.0
// ListMessages and SendMessage end to end over real TLS against the emulator: paging in
// both orders, visibility, the merge on promotion, the checks before sending, the errors,
// and the rules of a call that is not idempotent.
#define BOOST_TEST_MODULE messages
#include <boost/test/unit_test.hpp>

#include "raw_client.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>

using namespace wix::inbox;
using emulator::Emulator;
using emulator::Faults;
using test::guid;
namespace net = boost::asio;

namespace {

ListMessagesOptions listing(std::optional<int> limit, SortOrder order = SortOrder::desc,
                               std::optional<std::string> cursor = std::nullopt)
{
    ListMessagesOptions o;
    o.limit = limit;
    o.order = order;
    o.cursor = std::move(cursor);
    return o;
}

net::awaitable<std::string> conversationOf(Client& client, const ParticipantId& p)
{
    auto r = co_await client.getOrCreateConversation(p);
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
    co_return r->conversation.id;
}

std::string textOf(const Message& m)
{
    const auto* basic = std::get_if<BasicContent>(&m.content);
    const auto* text = basic && basic->items.size() == 1 ? std::get_if<TextItem>(&basic->items[0]) : nullptr;
    return text ? text->text : "(not one text item)";
}

// Every message of a listing, walked with the pager; also counts the pages.
net::awaitable<std::vector<Message>> listAll(Client& client, const std::string& id, Visibility visibility,
                                             ListMessagesOptions list, int& pages)
{
    std::vector<Message> all;
    auto pager = client.messages(id, visibility, list);
    pages = 0;
    while (!pager.done()) {
        auto page = co_await pager.next();
        BOOST_REQUIRE_MESSAGE(page.has_value(), page.error().describe());
        ++pages;
        all.insert(all.end(), page->messages.begin(), page->messages.end());
    }
    co_return all;
}

void raw(const Emulator& emu, const std::string& method, const std::string& path, const std::string& body)
{
    const auto r = test::rawExchange(emu.port(), emu.caFile(), test::rawRequest(method, path, body));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
}

} // namespace

BOOST_AUTO_TEST_CASE(sent_messages_are_listed_page_by_page_in_both_orders_and_by_visibility)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const auto id = co_await conversationOf(client, ParticipantId::member(guid(1)));
        // 7 messages; the 3rd and 6th only for the business.
        for (int i = 1; i <= 7; ++i) {
            const auto visibility = i % 3 == 0 ? Visibility::business : Visibility::businessAndParticipant;
            auto sent = co_await client.sendMessage(id, textMessage("m" + std::to_string(i), visibility));
            BOOST_REQUIRE_MESSAGE(sent.has_value(), sent.error().describe());
            BOOST_TEST(!sent->id.empty());
            BOOST_TEST(sent->sequence.value_or(0) == i);
            BOOST_TEST(sent->createdDate.has_value());
            BOOST_TEST(textOf(*sent) == "m" + std::to_string(i));
            BOOST_TEST((sent->direction == Direction::businessToParticipant));
        }
        int pages = 0;
        auto ascending = co_await listAll(client, id, Visibility::business, listing(3, SortOrder::asc), pages);
        BOOST_TEST(pages == 3); // 3 + 3 + 1
        BOOST_REQUIRE(ascending.size() == 7u);
        for (std::size_t i = 0; i < ascending.size(); ++i)
            BOOST_TEST(textOf(ascending[i]) == "m" + std::to_string(i + 1));

        auto descending = co_await listAll(client, id, Visibility::business, listing(2), pages);
        BOOST_TEST(pages == 4);
        BOOST_REQUIRE(descending.size() == 7u);
        BOOST_TEST(textOf(descending.front()) == "m7"); // newest first by default
        BOOST_TEST(textOf(descending.back()) == "m1");

        // The participant's view skips the business-only messages, across page boundaries too.
        auto visible = co_await listAll(client, id, Visibility::businessAndParticipant,
                                        listing(2, SortOrder::asc), pages);
        std::vector<std::string> texts;
        for (const auto& m : visible)
            texts.push_back(textOf(m));
        BOOST_TEST(texts == (std::vector<std::string>{"m1", "m2", "m4", "m5", "m7"}), boost::test_tools::per_element());
        BOOST_TEST(pages == 3);

        // Exactly a page's worth: the page after the last has no messages, and the walk ends.
        auto one = co_await client.listMessages(id, Visibility::business, listing(7));
        BOOST_REQUIRE(one.has_value());
        BOOST_TEST(one->messages.size() == 7u);
        BOOST_TEST(!one->nextCursor.has_value());
        auto defaults = co_await client.listMessages(id, Visibility::business);
        BOOST_REQUIRE(defaults.has_value());
        BOOST_TEST(defaults->messages.size() == 7u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().messages == 7u);
    BOOST_TEST(emu.stats().byRoute.at("sendMessage") == 7u);
}

BOOST_AUTO_TEST_CASE(every_content_kind_round_trips)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const auto id = co_await conversationOf(client, ParticipantId::contact(guid(2)));
        Message m;
        m.visibility = Visibility::businessAndParticipant;
        m.direction = Direction::participantToBusiness;
        m.content = BasicContent{{TextItem{"see the picture"},
                                  ImageItem{"https://static.example/p.png", "img-1", 640, 480, "p.png"},
                                  FileItem{"https://static.example/f.pdf", "file-1", "f.pdf", "application/pdf", 12345}}};
        m.sender = IdentificationData{std::nullopt, std::nullopt, guid(2)};
        m.badges = {Badge{"VIP", std::nullopt}};
        m.targetChannelIds = {"channel-a"};
        m.sourceChannelId = "channel-b";
        m.silent = false;
        SendMessageOptions quietly;
        quietly.sendNotifications = false;
        auto sent = co_await client.sendMessage(id, m, quietly);
        BOOST_REQUIRE_MESSAGE(sent.has_value(), sent.error().describe());
        Message expected = m;
        expected.id = sent->id;
        expected.sequence = sent->sequence;
        expected.createdDate = sent->createdDate;
        BOOST_TEST((*sent == expected));

        // The limit is in UTF-16 code units, not bytes: 16,384 characters of 3 bytes each, or
        // 8,192 of 4 bytes (2 units each) are the longest texts.
        for (const auto& [character, count] : {std::pair{std::string("\xE2\x82\xAC"), maxTextCharacters},
                                               std::pair{std::string("\xF0\x9F\x98\x80"), maxTextCharacters / 2}}) {
            std::string longest;
            for (std::size_t i = 0; i < count; ++i)
                longest += character;
            auto big = co_await client.sendMessage(id, textMessage(longest));
            BOOST_REQUIRE_MESSAGE(big.has_value(), big.error().describe());
            BOOST_TEST(textOf(*big) == longest);
            auto tooBig = co_await client.sendMessage(id, textMessage(longest + character));
            BOOST_TEST(tooBig.error().code == make_error_code(Errc::invalidArgument));
        }

        Message minimal = textMessage("x");
        minimal.content = MinimalContent{"short"};
        auto shortOne = co_await client.sendMessage(id, minimal);
        BOOST_REQUIRE(shortOne.has_value());
        BOOST_TEST((std::get<MinimalContent>(shortOne->content) == MinimalContent{"short"}));

        Message form = textMessage("x");
        form.content = FormContent{RawJson{R"({"title":"Your details","fields":[{"name":"email"}]})"}};
        auto withForm = co_await client.sendMessage(id, form);
        BOOST_REQUIRE(withForm.has_value());
        BOOST_TEST((withForm->content == form.content));

        auto page = co_await client.listMessages(id, Visibility::business, listing(std::nullopt, SortOrder::asc));
        BOOST_REQUIRE(page.has_value());
        BOOST_REQUIRE(page->messages.size() == 5u);
        BOOST_TEST((page->messages[0] == *sent));
        BOOST_TEST((page->messages[4] == *withForm));
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_before_anything_is_sent)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const std::string id = guid(3);
        auto refused = [&](const Message& m) -> net::awaitable<std::string> {
            auto r = co_await client.sendMessage(id, m);
            BOOST_REQUIRE(r.has_error());
            BOOST_TEST(r.error().code == make_error_code(Errc::invalidArgument));
            BOOST_TEST(r.error().attempts == 0);
            co_return r.error().message;
        };
        BOOST_TEST((co_await refused(textMessage(std::string(maxTextCharacters + 1, 'a')))).find("16385 characters")
                   != std::string::npos);
        BOOST_TEST((co_await refused(textMessage(""))).find("empty") != std::string::npos);
        BOOST_TEST((co_await refused(textMessage("caf\xC3"))).find("UTF-8") != std::string::npos);
        BOOST_TEST((co_await refused(textMessage("x", Visibility::unknown))).find("visibility") != std::string::npos);
        BOOST_TEST((co_await refused(textMessage("x", Visibility::business, Direction::unknown))).find("direction")
                   != std::string::npos);
        Message noItems = textMessage("x");
        noItems.content = BasicContent{};
        BOOST_TEST((co_await refused(noItems)).find("no items") != std::string::npos);
        Message badTemplate = textMessage("x");
        badTemplate.content = FormContent{RawJson{"[1]"}};
        BOOST_TEST((co_await refused(badTemplate)).find("JSON object") != std::string::npos);
        Message unlabelled = textMessage("x");
        TemplateButton noLabel;
        noLabel.launchUrl = "https://example.com";
        unlabelled.content = TemplateContent{std::nullopt, {}, {noLabel}, Orientation::unknown, std::nullopt};
        BOOST_TEST((co_await refused(unlabelled)).find("buttons[0].label") != std::string::npos);
        Message noUrl = textMessage("x");
        noUrl.content = BasicContent{{ImageItem{}}};
        BOOST_TEST((co_await refused(noUrl)).find("url") != std::string::npos);
        Message badSender = textMessage("x");
        badSender.sender = IdentificationData{std::nullopt, "../member", std::nullopt};
        BOOST_TEST((co_await refused(badSender)).find("GUID") != std::string::npos);

        auto badId = co_await client.sendMessage("not-a-guid", textMessage("x"));
        BOOST_TEST(badId.error().code == make_error_code(Errc::invalidArgument));
        for (const int limit : {0, 101}) {
            auto r = co_await client.listMessages(id, Visibility::business, listing(limit));
            BOOST_TEST(r.error().code == make_error_code(Errc::invalidArgument));
        }
        auto noVisibility = co_await client.listMessages(id, Visibility::unknown);
        BOOST_TEST(noVisibility.error().code == make_error_code(Errc::invalidArgument));
        auto longCursor = co_await client.listMessages(id, Visibility::business, listing(std::nullopt, SortOrder::desc, std::string(16001, 'c')));
        BOOST_TEST(longCursor.error().code == make_error_code(Errc::invalidArgument));
        co_return true;
    }());
    BOOST_TEST(emu.stats().requests == 0u);
}

// Text the server could read as other characters than meant is refused before anything is
// sent, in the message's text and in every other field: overlong forms, surrogates, code
// points above U+10FFFF, truncated sequences.
BOOST_AUTO_TEST_CASE(text_that_is_not_well_formed_utf8_is_refused_wherever_it_is)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const std::string id = guid(3);
        auto refused = [&](const Message& m, const std::string& what) -> net::awaitable<void> {
            auto r = co_await client.sendMessage(id, m);
            BOOST_REQUIRE_MESSAGE(r.has_error(), what);
            BOOST_TEST(r.error().code == make_error_code(Errc::invalidArgument), what);
            BOOST_TEST(r.error().message.find("UTF-8") != std::string::npos, what << ": " << r.error().message);
            BOOST_TEST(r.error().attempts == 0, what);
        };
        for (const std::string bad : {"\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xF0\x80\x80\xAF", // overlong
                                      "\xED\xA0\x80", "\xED\xBF\xBF",                             // surrogates
                                      "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF",             // above U+10FFFF
                                      "\xE2\x82", "\xF0\x9F\x98", "\x80"}) {                         // truncated, stray
            co_await refused(textMessage("a" + bad + "b"), "text");
            Message minimal = textMessage("x");
            minimal.content = MinimalContent{bad};
            co_await refused(minimal, "minimal text");
            Message file = textMessage("x");
            file.content = BasicContent{{FileItem{"https://example.com/f", std::nullopt, "f" + bad, std::nullopt, std::nullopt}}};
            co_await refused(file, "file name");
            Message badge = textMessage("x");
            badge.badges = {Badge{"b" + bad, std::nullopt}};
            co_await refused(badge, "badge");
        }
        co_return true;
    }());
    BOOST_TEST(emu.stats().requests == 0u);
    // The extremes that are well-formed go: U+D7FF, U+E000, U+10FFFF, U+0080.
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        auto created = co_await client.getOrCreateConversation(ParticipantId::member(guid(4)));
        BOOST_REQUIRE(created.has_value());
        auto sent = co_await client.sendMessage(created->conversation.id, textMessage("\xED\x9F\xBF \xEE\x80\x80 \xF4\x8F\xBF\xBF \xC2\x80"));
        BOOST_REQUIRE_MESSAGE(sent.has_value(), sent.error().describe());
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(the_services_errors_are_typed)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        auto missing = co_await client.listMessages(guid(404), Visibility::business);
        BOOST_REQUIRE(missing.has_error());
        BOOST_TEST(missing.error().httpStatus == 404);
        BOOST_TEST(missing.error().applicationCode == "CONVERSATION_NOT_FOUND");
        BOOST_TEST((missing.error().application() == ApplicationError::conversationNotFound));
        auto sendMissing = co_await client.sendMessage(guid(404), textMessage("x"));
        BOOST_TEST(sendMissing.error().applicationCode == "CONVERSATION_NOT_FOUND");

        const auto id = co_await conversationOf(client, ParticipantId::member(guid(4)));
        Message media = textMessage("x");
        FileItem file;
        file.url = "ftp://files.example/f.pdf";
        media.content = BasicContent{{file}};
        auto badMedia = co_await client.sendMessage(id, media);
        BOOST_REQUIRE(badMedia.has_error());
        BOOST_TEST(badMedia.error().httpStatus == 400);
        BOOST_TEST((badMedia.error().application() == ApplicationError::invalidMediaUrl));
        BOOST_TEST(badMedia.error().attempts == 1);

        // A cursor the service did not give, or one of another listing, is a validation error.
        auto garbage = co_await client.listMessages(id, Visibility::business, listing(std::nullopt, SortOrder::desc, "garbage"));
        BOOST_REQUIRE(garbage.has_error());
        BOOST_TEST(garbage.error().httpStatus == 400);
        BOOST_TEST((garbage.error().application() == ApplicationError::none));
        BOOST_REQUIRE(!garbage.error().fieldViolations.empty());
        BOOST_TEST(garbage.error().fieldViolations[0].field == "paging.cursor");
        for (int i = 0; i < 3; ++i)
            BOOST_REQUIRE((co_await client.sendMessage(id, textMessage("m"))).has_value());
        auto first = co_await client.listMessages(id, Visibility::business, listing(1));
        BOOST_REQUIRE(first.has_value() && first->nextCursor);
        auto otherOrder = co_await client.listMessages(
            id, Visibility::business, listing(1, SortOrder::asc, first->nextCursor));
        BOOST_TEST(otherOrder.error().httpStatus == 400);
        auto tampered = *first->nextCursor;
        tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
        auto forged = co_await client.listMessages(id, Visibility::business, listing(std::nullopt, SortOrder::desc, tampered));
        BOOST_TEST(forged.error().httpStatus == 400);
        co_return true;
    }());
}

// SendMessage has no idempotency key: a send whose answer is lost is never sent again by the
// client, and the error says the outcome is unknown; listing the newest messages tells.
BOOST_AUTO_TEST_CASE(a_lost_answer_is_not_resent_and_the_outcome_is_unknown)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const auto id = co_await conversationOf(client, ParticipantId::member(guid(5)));
        Faults lost;
        lost.lostResponse = 1;
        emu.setFaults(lost);
        auto sent = co_await client.sendMessage(id, textMessage("once"));
        BOOST_REQUIRE(sent.has_error());
        BOOST_TEST(sent.error().code == make_error_code(Errc::outcomeUnknown), sent.error().describe());
        BOOST_TEST(sent.error().attempts == 1);
        BOOST_TEST((sent.error().stopReason == RetryStop::notIdempotent));
        BOOST_TEST(!isTransient(sent.error())); // a job must not simply send it again
        BOOST_TEST(emu.stats().messages == 1u);  // it took effect

        Faults gateway;
        gateway.status504 = 1;
        emu.setFaults(gateway);
        auto timedOut = co_await client.sendMessage(id, textMessage("maybe"));
        BOOST_REQUIRE(timedOut.has_error());
        BOOST_TEST(timedOut.error().code == make_error_code(Errc::outcomeUnknown));
        BOOST_TEST(timedOut.error().httpStatus == 504);
        BOOST_TEST(timedOut.error().attempts == 1);
        BOOST_TEST(timedOut.error().describe().find("HTTP 504") != std::string::npos, timedOut.error().describe());

        emu.setFaults({});
        // Reconciling: the newest message is the lost send's.
        auto newest = co_await client.listMessages(id, Visibility::business, listing(1));
        BOOST_REQUIRE(newest.has_value());
        BOOST_REQUIRE(newest->messages.size() == 1u);
        BOOST_TEST(textOf(newest->messages[0]) == "once");

        // The same faults on an idempotent call are retried until it succeeds.
        emu.setFaults(lost);
        CallOptions brief;
        brief.retry = RetryPolicy{};
        brief.retry->maxAttempts = 3;
        auto listed = co_await client.listMessages(id, Visibility::business, {}, brief);
        BOOST_TEST(listed.error().attempts == 3); // every answer lost: tried 3 times
        co_return true;
    }());
}

// A 429 says the request was refused, not done: a send is retried after it.
BOOST_AUTO_TEST_CASE(a_throttled_send_is_retried_and_sent_once)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        ClientOptions o = test::optionsFor(emu);
        o.retry.maxAttempts = 20;              // 0.6^20: every send gets through
        o.rateLimit = RateLimitOptions::off(); // random throttles no rate avoids
        Client client(ioc.get_executor(), o);
        const auto id = co_await conversationOf(client, ParticipantId::member(guid(6)));
        Faults throttled;
        throttled.status429 = 0.6;
        throttled.retryAfterSeconds = 0;
        emu.setFaults(throttled);
        for (int i = 0; i < 10; ++i) {
            auto sent = co_await client.sendMessage(id, textMessage("m" + std::to_string(i)));
            BOOST_REQUIRE_MESSAGE(sent.has_value(), sent.error().describe());
        }
        co_return true;
    }());
    BOOST_TEST(emu.stats().messages == 10u);
    BOOST_TEST(emu.stats().faults.at("fault-429") > 0u);
}

// Promotion merges the old conversation's messages into the new one, in the order sent,
// whether the new conversation already exists or is made later.
BOOST_AUTO_TEST_CASE(a_merge_keeps_the_messages_in_the_order_they_were_sent)
{
    Emulator emu;
    net::io_context ioc;
    const std::string visitor = guid(7), contact = guid(8), member = guid(9);
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const auto asVisitor = co_await conversationOf(client, ParticipantId::anonymousVisitor(visitor));
        const auto asMember = co_await conversationOf(client, ParticipantId::member(member));
        BOOST_REQUIRE((co_await client.sendMessage(asVisitor, textMessage("v1"))).has_value());
        BOOST_REQUIRE((co_await client.sendMessage(asMember, textMessage("m1"))).has_value());
        BOOST_REQUIRE((co_await client.sendMessage(asVisitor, textMessage("v2"))).has_value());
        co_return true;
    }());
    // visitor -> contact (whose conversation is made later), then contact -> member (exists).
    raw(emu, "POST", "/_emulator/promote",
        R"({"from":{"anonymousVisitorId":")" + visitor + R"("},"to":{"contactId":")" + contact + R"("}})");
    raw(emu, "POST", "/_emulator/promote",
        R"({"from":{"contactId":")" + contact + R"("},"to":{"memberId":")" + member + R"("}})");
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const auto current = co_await conversationOf(client, ParticipantId::anonymousVisitor(visitor));
        BOOST_TEST(current == co_await conversationOf(client, ParticipantId::member(member)));
        int pages = 0;
        auto all = co_await listAll(client, current, Visibility::business, listing(std::nullopt, SortOrder::asc), pages);
        std::vector<std::string> texts;
        std::vector<std::int64_t> sequences;
        for (const auto& m : all) {
            texts.push_back(textOf(m));
            sequences.push_back(m.sequence.value_or(0));
        }
        BOOST_TEST(texts == (std::vector<std::string>{"v1", "m1", "v2"}), boost::test_tools::per_element());
        BOOST_TEST(sequences == (std::vector<std::int64_t>{1, 2, 3}), boost::test_tools::per_element());
        co_return true;
    }());
}

// The errors that depend on the site and on who sends: a site without Inbox, and a message
// sent as the participant that names someone else as its sender.
BOOST_AUTO_TEST_CASE(inbox_and_identity_errors_are_typed)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const auto id = co_await conversationOf(client, ParticipantId::member(guid(10)));

        SendMessageOptions asParticipant;
        asParticipant.sendAs = SendMessageOptions::SendAs::participant;
        Message fromSomeoneElse = textMessage("hi", Visibility::businessAndParticipant, Direction::participantToBusiness);
        fromSomeoneElse.sender = IdentificationData{std::nullopt, guid(11), std::nullopt};
        auto refused = co_await client.sendMessage(id, fromSomeoneElse, asParticipant);
        BOOST_REQUIRE(refused.has_error());
        BOOST_TEST(refused.error().httpStatus == 403);
        BOOST_TEST((refused.error().application() == ApplicationError::identityDoesNotMatch));
        Message fromTheMember = fromSomeoneElse;
        fromTheMember.sender = IdentificationData{std::nullopt, guid(10), std::nullopt};
        auto accepted = co_await client.sendMessage(id, fromTheMember, asParticipant);
        BOOST_TEST(accepted.has_value());

        raw(emu, "POST", "/_emulator/inbox", R"({"installed": false})");
        auto list = co_await client.listMessages(id, Visibility::business);
        BOOST_TEST((list.error().application() == ApplicationError::noInboxInstance));
        auto send = co_await client.sendMessage(id, textMessage("x"));
        BOOST_TEST((send.error().application() == ApplicationError::inboxInstanceNotFound));
        raw(emu, "POST", "/_emulator/inbox", R"({"installed": true})");
        BOOST_TEST((co_await client.listMessages(id, Visibility::business)).has_value());
        co_return true;
    }());
}
