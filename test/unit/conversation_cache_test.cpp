// SPDX-License-Identifier: BSL-1.0
// The conversation cache's bookkeeping with time given explicitly: time to live, least
// recently used eviction, invalidation by conversation ID in either case.
#define BOOST_TEST_MODULE conversation_cache_unit
#include <boost/test/unit_test.hpp>

#include "conversation_cache.hpp"

using wix::inbox::Conversation;
using wix::inbox::ConversationCacheOptions;
using wix::inbox::ParticipantId;
using wix::inbox::detail::ConversationCache;
using namespace std::chrono_literals;

namespace {

std::string guid(int n)
{
    char out[37];
    std::snprintf(out, sizeof out, "00000000-0000-4000-8000-%012x", n);
    return out;
}

Conversation conversation(int n)
{
    Conversation c;
    c.id = guid(1000 + n);
    return c;
}

ConversationCacheOptions options(std::size_t capacity, std::chrono::seconds ttl)
{
    ConversationCacheOptions o;
    o.capacity = capacity;
    o.timeToLive = ttl;
    return o;
}

struct Fixture {
    ConversationCache::Clock::time_point t0 = ConversationCache::Clock::now();
    void put(ConversationCache& cache, int n, ConversationCache::Clock::time_point at)
    {
        const auto p = ParticipantId::member(guid(n));
        cache.store(ConversationCache::keyOf(p), p, conversation(n), at);
    }
    static bool has(ConversationCache& cache, int n, ConversationCache::Clock::time_point at)
    {
        return cache.find(ConversationCache::keyOf(ParticipantId::member(guid(n))), at).has_value();
    }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(an_entry_lives_for_its_time_to_live, Fixture)
{
    ConversationCache cache(options(10, 60s));
    put(cache, 1, t0);
    BOOST_TEST(has(cache, 1, t0 + 59s));
    BOOST_TEST(!has(cache, 1, t0 + 60s));
    BOOST_TEST(!has(cache, 1, t0)); // gone, not hidden
    const auto s = cache.stats();
    BOOST_TEST(s.hits == 1u);
    BOOST_TEST(s.evicted == 1u);
    BOOST_TEST(s.entries == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_least_recently_used_entry_makes_room, Fixture)
{
    ConversationCache cache(options(3, 600s));
    for (int n = 1; n <= 3; ++n)
        put(cache, n, t0);
    BOOST_TEST(has(cache, 1, t0)); // 1 is now the most recently used: 2 goes next
    put(cache, 4, t0);
    BOOST_TEST(!has(cache, 2, t0));
    for (int n : {1, 3, 4})
        BOOST_TEST(has(cache, n, t0));
    BOOST_TEST(cache.stats().entries == 3u);
    BOOST_TEST(cache.stats().evicted == 1u);
}

BOOST_FIXTURE_TEST_CASE(storing_a_participant_again_replaces_its_entry, Fixture)
{
    ConversationCache cache(options(3, 600s));
    put(cache, 1, t0);
    const auto p = ParticipantId::member(guid(1));
    cache.store(ConversationCache::keyOf(p), p, conversation(2), t0);
    BOOST_TEST(cache.stats().entries == 1u);
    BOOST_TEST(cache.find(ConversationCache::keyOf(p), t0)->conversation.id == conversation(2).id);
    BOOST_TEST(!cache.forgetConversation(conversation(1).id)); // the old ID is not indexed any more
}

BOOST_FIXTURE_TEST_CASE(forgetting_a_conversation_drops_every_entry_of_it_in_either_case, Fixture)
{
    ConversationCache cache(options(10, 600s));
    const auto member = ParticipantId::member(guid(1));
    const auto contact = ParticipantId::contact(guid(2));
    cache.store(ConversationCache::keyOf(member), member, conversation(5), t0);
    cache.store(ConversationCache::keyOf(contact), contact, conversation(5), t0);
    put(cache, 3, t0);
    auto upper = conversation(5).id;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const auto whose = cache.forgetConversation(upper);
    BOOST_REQUIRE(whose.has_value());
    BOOST_TEST((*whose == member || *whose == contact));
    BOOST_TEST(cache.stats().entries == 1u);
    BOOST_TEST(cache.stats().invalidated == 2u);
    BOOST_TEST(cache.forgetConversations({conversation(3).id, conversation(9).id}) == 1u);
    BOOST_TEST(cache.stats().entries == 0u);
    // Dropped, the IDs still name their participants for the calls that hold them.
    BOOST_TEST((cache.forgetConversation(conversation(3).id) == ParticipantId::member(guid(3))));
    BOOST_TEST(cache.forgetConversation(upper).has_value());
    BOOST_TEST(!cache.forgetConversation(conversation(9).id)); // never cached
    BOOST_TEST(cache.stats().invalidated == 3u);               // the repeats drop nothing
}
