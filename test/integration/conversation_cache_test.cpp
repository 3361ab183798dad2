// SPDX-License-Identifier: BSL-1.0
// The conversation cache over real TLS against the emulator: hits, one request for many
// concurrent callers (on several threads), a leader's own ending not shared, invalidation by
// a 404 with the call sent again to the participant's new conversation, and by a merge event.
#define BOOST_TEST_MODULE conversation_cache
#include <boost/test/unit_test.hpp>

#include "raw_client.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <cctype>
#include <future>
#include <mutex>
#include <set>

using namespace wix::inbox;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;

namespace {

ClientOptions cached(const Emulator& emu, std::size_t capacity = 1000)
{
    auto o = test::optionsFor(emu);
    o.conversationCache.capacity = capacity;
    return o;
}

std::uint64_t getOrCreateRequests(const Emulator& emu)
{
    const auto stats = emu.stats();
    const auto it = stats.byRoute.find("getOrCreateConversation");
    return it == stats.byRoute.end() ? 0 : it->second;
}

void promote(const Emulator& emu, const std::string& fromField, const std::string& from, const std::string& toField,
             const std::string& to)
{
    const auto r = test::rawExchange(emu.port(), emu.caFile(),
                                     test::rawRequest("POST", "/_emulator/promote",
                                                      R"({"from":{")" + fromField + R"(":")" + from + R"("},"to":{")"
                                                          + toField + R"(":")" + to + R"("}})"));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
}

std::string require(const Result<GetOrCreateConversationResponse>& r)
{
    BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
    return r->conversation.id;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_cached_participant_is_answered_without_a_request)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), cached(emu));
        const auto member = ParticipantId::member(guid(1));
        auto first = co_await client.getOrCreateConversation(member);
        const auto id = require(first);
        BOOST_TEST(first->newConversation);
        // The same participant spelled in upper case is the same entry.
        auto upper = guid(1);
        for (char& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        for (const auto& again : {member, ParticipantId::member(upper)}) {
            auto r = co_await client.getOrCreateConversation(again);
            BOOST_TEST(require(r) == id);
            BOOST_TEST(!r->newConversation);
        }
        // Another kind with the same ID is another participant.
        BOOST_TEST(require(co_await client.getOrCreateConversation(ParticipantId::contact(guid(1)))) != id);
        const auto s = client.stats().conversationCache;
        BOOST_TEST(s.hits == 2u);
        BOOST_TEST(s.misses == 2u);
        BOOST_TEST(s.entries == 2u);
        co_return true;
    }());
    BOOST_TEST(getOrCreateRequests(emu) == 2u);
}

BOOST_AUTO_TEST_CASE(a_client_without_a_cache_asks_every_time)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        for (int i = 0; i < 3; ++i)
            require(co_await client.getOrCreateConversation(ParticipantId::member(guid(1))));
        BOOST_TEST(client.stats().conversationCache.misses == 0u);
        co_return true;
    }());
    BOOST_TEST(getOrCreateRequests(emu) == 3u);
}

// 1,000 callers on 4 threads ask for one participant while the first request is in the air:
// one request serves them all; every caller gets the same conversation.
BOOST_AUTO_TEST_CASE(one_request_serves_a_thousand_concurrent_callers)
{
    emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = std::chrono::milliseconds(100);
    Emulator emu(eo);
    net::thread_pool pool(4);
    Client client(pool.get_executor(), cached(emu));
    constexpr int callers = 1000;
    std::vector<std::future<Result<GetOrCreateConversationResponse>>> results;
    results.reserve(callers);
    for (int i = 0; i < callers; ++i)
        results.push_back(net::co_spawn(pool, client.getOrCreateConversation(ParticipantId::member(guid(7))),
                                        net::use_future));
    std::set<std::string> ids;
    int failures = 0;
    for (auto& f : results) {
        auto r = f.get();
        if (r)
            ids.insert(r->conversation.id);
        else
            ++failures;
    }
    BOOST_TEST(failures == 0);
    BOOST_TEST(ids.size() == 1u);
    BOOST_TEST(getOrCreateRequests(emu) == 1u);
    const auto s = client.stats().conversationCache;
    BOOST_TEST(s.misses == 1u);
    BOOST_TEST(s.hits + s.coalesced == static_cast<std::uint64_t>(callers - 1));
    BOOST_TEST(s.coalesced > 0u); // the 100 ms answer leaves time for callers to join
    client.close();
    pool.join();
}

// The first caller gives up (its own deadline); the callers waiting on its request do not
// share that ending: one of them asks again and all get the conversation.
BOOST_AUTO_TEST_CASE(a_leaders_timeout_is_not_shared_with_its_waiters)
{
    emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = std::chrono::milliseconds(300);
    Emulator emu(eo);
    net::io_context ioc;
    Client client(ioc.get_executor(), cached(emu));
    const auto member = ParticipantId::member(guid(9));
    CallOptions impatient;
    impatient.timeout = std::chrono::milliseconds(100);
    CallOptions lessImpatient;
    lessImpatient.timeout = std::chrono::milliseconds(200);
    std::optional<Result<GetOrCreateConversationResponse>> leader, waiter, shortWaiter;
    net::co_spawn(ioc, client.getOrCreateConversation(member, impatient),
                  [&](const std::exception_ptr&, Result<GetOrCreateConversationResponse> r) { leader.emplace(std::move(r)); });
    net::co_spawn(ioc, client.getOrCreateConversation(member),
                  [&](const std::exception_ptr&, Result<GetOrCreateConversationResponse> r) { waiter.emplace(std::move(r)); });
    net::co_spawn(ioc, client.getOrCreateConversation(member, lessImpatient),
                  [&](const std::exception_ptr&, Result<GetOrCreateConversationResponse> r) {
                      shortWaiter.emplace(std::move(r));
                  });
    while ((!leader || !waiter || !shortWaiter) && ioc.run_one() > 0)
        ;
    BOOST_REQUIRE(leader && waiter && shortWaiter);
    BOOST_TEST(!leader->has_value());
    BOOST_TEST((leader->error().code == make_error_code(Errc::timeout)));
    BOOST_TEST(waiter->has_value());
    // Its 200 ms hold whether it waits or leads the next flight: the answer takes 300 ms.
    BOOST_TEST(!shortWaiter->has_value());
    BOOST_TEST((shortWaiter->error().code == make_error_code(Errc::timeout)));
    const auto s = client.stats().conversationCache;
    BOOST_TEST(s.misses >= 2u); // a waiter led the second flight
    BOOST_TEST(s.coalesced >= 2u);
}

// A waiter cancelled by its caller ends at once with Errc::cancelled; the flight goes on.
BOOST_AUTO_TEST_CASE(a_cancelled_waiter_ends_alone)
{
    emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = std::chrono::milliseconds(200);
    Emulator emu(eo);
    net::io_context ioc;
    Client client(ioc.get_executor(), cached(emu));
    const auto member = ParticipantId::member(guid(10));
    net::cancellation_signal cancel;
    std::optional<Result<GetOrCreateConversationResponse>> leader, waiter;
    net::co_spawn(ioc, client.getOrCreateConversation(member),
                  [&](const std::exception_ptr&, Result<GetOrCreateConversationResponse> r) { leader.emplace(std::move(r)); });
    net::co_spawn(ioc, client.getOrCreateConversation(member),
                  net::bind_cancellation_slot(cancel.slot(), [&](const std::exception_ptr&,
                                                                 Result<GetOrCreateConversationResponse> r) {
                      waiter.emplace(std::move(r));
                  }));
    // Once the waiter has joined the flight (its stats say so), cancel it.
    while (client.stats().conversationCache.coalesced == 0 && ioc.run_one() > 0)
        ;
    cancel.emit(net::cancellation_type::terminal);
    while ((!leader || !waiter) && ioc.run_one() > 0)
        ;
    BOOST_REQUIRE(leader && waiter);
    BOOST_TEST(!waiter->has_value());
    BOOST_TEST((waiter->error().code == make_error_code(Errc::cancelled)));
    BOOST_TEST(leader->has_value());
    BOOST_TEST(getOrCreateRequests(emu) == 1u);
}

// The visitor's conversation is merged into the member's. Calls with the cached old ID get
// 404 CONVERSATION_NOT_FOUND: the entry goes, the participant is resolved again once, and
// the call is sent to the new conversation, a send included (the 404 says nothing was done).
BOOST_AUTO_TEST_CASE(a_404_drops_the_entry_and_the_call_goes_to_the_new_conversation)
{
    Emulator emu;
    net::io_context ioc;
    const auto visitor = ParticipantId::anonymousVisitor(guid(20));
    const auto member = ParticipantId::member(guid(21));
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), cached(emu));
        const auto old = require(co_await client.getOrCreateConversation(visitor));
        const auto target = require(co_await client.getOrCreateConversation(member));
        promote(emu, "anonymousVisitorId", visitor.id(), "memberId", member.id());

        auto sent = co_await client.sendMessage(old, textMessage("after the merge"));
        BOOST_REQUIRE_MESSAGE(sent.has_value(), sent.error().describe());
        auto s = client.stats().conversationCache;
        BOOST_TEST(s.invalidated == 1u);
        BOOST_TEST(s.reresolved == 1u);
        // The message is in the member's conversation, once.
        auto page = co_await client.listMessages(target, Visibility::businessAndParticipant);
        BOOST_REQUIRE_MESSAGE(page.has_value(), page.error().describe());
        BOOST_TEST(page->messages.size() == 1u);
        // The visitor's entry now holds the new conversation: no more 404s.
        BOOST_TEST(require(co_await client.getOrCreateConversation(visitor)) == target);
        BOOST_TEST(client.stats().conversationCache.hits >= 1u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().byStatus[404] == 1u);
}

// Twenty sends to the same stale ID at once: each gets its 404, and each is sent again to
// the new conversation, not only the first to drop the entry.
BOOST_AUTO_TEST_CASE(concurrent_calls_with_one_stale_id_all_go_to_the_new_conversation)
{
    Emulator emu;
    net::io_context ioc;
    const auto visitor = ParticipantId::anonymousVisitor(guid(24));
    const auto member = ParticipantId::member(guid(25));
    Client client(ioc.get_executor(), cached(emu));
    const auto old = require(test::run(ioc, client.getOrCreateConversation(visitor)));
    const auto target = require(test::run(ioc, client.getOrCreateConversation(member)));
    promote(emu, "anonymousVisitorId", visitor.id(), "memberId", member.id());
    constexpr int sends = 20;
    int ok = 0, done = 0;
    for (int i = 0; i < sends; ++i)
        net::co_spawn(ioc, client.sendMessage(old, textMessage("m" + std::to_string(i))),
                      [&](const std::exception_ptr&, const Result<Message>& r) {
                          ok += r ? 1 : 0;
                          ++done;
                      });
    while (done < sends && ioc.run_one() > 0)
        ;
    BOOST_TEST(ok == sends);
    const auto page = test::run(ioc, client.listMessages(target, Visibility::business));
    BOOST_REQUIRE(page.has_value());
    BOOST_TEST(page->messages.size() == static_cast<std::size_t>(sends));
    BOOST_TEST(client.stats().conversationCache.reresolved == static_cast<std::uint64_t>(sends));
}

// A merge event drops the entry before any 404: a call still holding the old ID (from an
// earlier lookup) is resolved again all the same.
BOOST_AUTO_TEST_CASE(an_id_dropped_by_a_merge_event_is_still_resolved_again)
{
    Emulator emu;
    net::io_context ioc;
    const auto visitor = ParticipantId::anonymousVisitor(guid(26));
    const auto member = ParticipantId::member(guid(27));
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), cached(emu));
        const auto old = require(co_await client.getOrCreateConversation(visitor));
        const auto target = require(co_await client.getOrCreateConversation(member));
        promote(emu, "anonymousVisitorId", visitor.id(), "memberId", member.id());
        webhooks::ConversationsMerged event;
        event.oldConversationIds = {old};
        event.targetConversationId = target;
        BOOST_TEST(client.applyMerge(event) == 1u);
        auto got = co_await client.getConversation(old);
        BOOST_REQUIRE_MESSAGE(got.has_value(), got.error().describe());
        BOOST_TEST(got->id == target);
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(a_get_or_a_first_page_of_a_stale_id_is_answered_by_the_new_conversation)
{
    Emulator emu;
    net::io_context ioc;
    const auto visitor = ParticipantId::anonymousVisitor(guid(30));
    const auto contact = ParticipantId::contact(guid(31));
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), cached(emu));
        const auto old = require(co_await client.getOrCreateConversation(visitor));
        promote(emu, "anonymousVisitorId", visitor.id(), "contactId", contact.id());
        auto got = co_await client.getConversation(old);
        BOOST_REQUIRE_MESSAGE(got.has_value(), got.error().describe());
        BOOST_TEST(got->id != old);
        BOOST_TEST(require(co_await client.getOrCreateConversation(contact)) == got->id);

        // A listing with a cursor is not sent elsewhere: the cursor was the old conversation's.
        const auto old2 = require(co_await client.getOrCreateConversation(ParticipantId::anonymousVisitor(guid(32))));
        for (const auto* text : {"one", "two"})
            BOOST_REQUIRE((co_await client.sendMessage(old2, textMessage(text))).has_value());
        ListMessagesOptions first;
        first.limit = 1;
        auto page = co_await client.listMessages(old2, Visibility::business, first);
        BOOST_REQUIRE(page.has_value() && page->nextCursor.has_value());
        promote(emu, "anonymousVisitorId", guid(32), "contactId", guid(33));
        ListMessagesOptions withCursor;
        withCursor.cursor = page->nextCursor;
        auto listed = co_await client.listMessages(old2, Visibility::business, withCursor);
        BOOST_TEST(!listed.has_value());
        if (!listed)
            BOOST_TEST((listed.error().application() == ApplicationError::conversationNotFound));
        const auto s = client.stats().conversationCache;
        BOOST_TEST(s.invalidated == 2u);
        BOOST_TEST(s.reresolved == 1u);
        co_return true;
    }());
}

// The call sent again is the same call, encoded afresh from its input for the new
// conversation: the caller's headers go with it, its attempts go on counting, and an ID given
// in upper case is found all the same.
BOOST_AUTO_TEST_CASE(a_call_sent_again_keeps_its_headers_and_stays_one_call)
{
    struct Starts : Observer {
        bool wantsHeaders() const override { return true; }
        void onAttemptStart(const AttemptStart& e) override
        {
            if (e.call.operation != "GetConversation")
                return;
            std::string trace;
            for (const auto& h : e.requestHeaders)
                if (h.name == "X-Trace")
                    trace = h.value;
            std::lock_guard lock(mutex);
            seen.emplace_back(e.resendCount, trace);
        }
        std::mutex mutex;
        std::vector<std::pair<int, std::string>> seen;
    };
    Emulator emu;
    net::io_context ioc;
    auto starts = std::make_shared<Starts>();
    auto options = cached(emu);
    options.observer = starts;
    const auto visitor = ParticipantId::anonymousVisitor(guid(40));
    const auto contact = ParticipantId::contact(guid(41));
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), options);
        auto old = require(co_await client.getOrCreateConversation(visitor));
        promote(emu, "anonymousVisitorId", visitor.id(), "contactId", contact.id());
        std::transform(old.begin(), old.end(), old.begin(), [](char c) { return std::toupper(c); });
        const auto callsBefore = client.stats().calls;
        CallOptions call;
        call.headers = {{"X-Trace", "t-1"}};
        auto got = co_await client.getConversation(old, call);
        BOOST_REQUIRE_MESSAGE(got.has_value(), got.error().describe());
        BOOST_TEST(got->id == require(co_await client.getOrCreateConversation(contact)));
        // One GetConversation sent twice, the GetOrCreate that resolved the visitor again, and
        // the contact's.
        BOOST_TEST(client.stats().calls - callsBefore == 3u);
        co_return true;
    }());
    BOOST_REQUIRE(starts->seen.size() == 2u);
    for (int i = 0; i < 2; ++i) {
        BOOST_TEST(starts->seen[i].first == i);
        BOOST_TEST(starts->seen[i].second == "t-1");
    }
}

// Without a cache the library cannot know whose the ID was: the 404 is the answer.
BOOST_AUTO_TEST_CASE(without_a_cache_a_stale_id_is_a_404)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), test::optionsFor(emu));
        const auto old = require(co_await client.getOrCreateConversation(ParticipantId::anonymousVisitor(guid(40))));
        promote(emu, "anonymousVisitorId", guid(40), "memberId", guid(41));
        auto sent = co_await client.sendMessage(old, textMessage("lost?"));
        BOOST_REQUIRE(!sent.has_value());
        BOOST_TEST((sent.error().application() == ApplicationError::conversationNotFound));
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(a_merge_event_drops_the_conversations_it_names)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), cached(emu));
        const auto a = require(co_await client.getOrCreateConversation(ParticipantId::anonymousVisitor(guid(50))));
        const auto b = require(co_await client.getOrCreateConversation(ParticipantId::member(guid(51))));
        const auto c = require(co_await client.getOrCreateConversation(ParticipantId::member(guid(52))));
        webhooks::ConversationsMerged event;
        event.oldConversationIds = {a};
        event.targetConversationId = b;
        BOOST_TEST(client.applyMerge(event) == 1u);
        BOOST_TEST(client.applyMerge(event) == 0u); // again: nothing left to drop
        const auto before = getOrCreateRequests(emu);
        require(co_await client.getOrCreateConversation(ParticipantId::anonymousVisitor(guid(50))));
        BOOST_TEST(getOrCreateRequests(emu) == before + 1);
        BOOST_TEST(require(co_await client.getOrCreateConversation(ParticipantId::member(guid(51)))) == b);
        BOOST_TEST(require(co_await client.getOrCreateConversation(ParticipantId::member(guid(52)))) == c);
        BOOST_TEST(getOrCreateRequests(emu) == before + 1); // the target's and others' entries stay
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(each_tenant_has_its_own_cache_and_may_opt_out)
{
    Emulator emu;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), cached(emu));
        auto other = client.forTenant(ApiKey{"key", guid(60), {}});
        auto uncached = client.forTenant(ApiKey{"key", guid(61), {}}, ConversationCacheOptions{});
        for (auto* c : {&client, &other, &uncached})
            for (int i = 0; i < 2; ++i)
                require(co_await c->getOrCreateConversation(ParticipantId::member(guid(62))));
        BOOST_TEST(client.stats().conversationCache.hits == 1u);
        BOOST_TEST(other.stats().conversationCache.hits == 1u);
        BOOST_TEST(uncached.stats().conversationCache.hits == 0u);
        co_return true;
    }());
    BOOST_TEST(getOrCreateRequests(emu) == 4u);
}

BOOST_AUTO_TEST_CASE(cache_options_out_of_range_are_refused)
{
    net::io_context ioc;
    ClientOptions o;
    o.conversationCache.capacity = 10;
    o.conversationCache.timeToLive = std::chrono::seconds(0);
    BOOST_CHECK_THROW(Client(ioc.get_executor(), o), Exception);
    o.conversationCache.timeToLive = std::chrono::seconds(60);
    o.conversationCache.capacity = 20'000'000;
    BOOST_CHECK_THROW(Client(ioc.get_executor(), o), Exception);
}
