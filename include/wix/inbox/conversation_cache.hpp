// SPDX-License-Identifier: BSL-1.0
// The conversation cache: a Client's getOrCreateConversation results, per participant.
//
// A conversation's ID changes when its participant's type changes (anonymous visitor ->
// contact -> member): the old conversation is merged into a new one and its ID answers 404
// CONVERSATION_NOT_FOUND from then on. The cache keeps a service from asking for the same
// participant's conversation on every request, and forgets an entry when it goes stale:
//  - a call with the entry's conversation ID gets 404 CONVERSATION_NOT_FOUND; the call is
//    then sent once more to the participant's conversation, resolved afresh, where that is
//    safe (below);
//  - Client::applyMerge is given a `conversations_merged` webhook naming it (webhooks.hpp);
//  - its time to live ends, or it is the least recently used when the cache is full.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace wix::inbox {

/// Opt-in, per Client (one tenant): ClientOptions::conversationCache, or
/// Client::forTenant(credentials, cacheOptions).
///
/// With a cache, getOrCreateConversation answers from it while an entry lives (with
/// newConversation false), and concurrent calls for one participant share one request
/// (single flight): the others wait for its outcome, good or bad; a call cancelled or out of
/// time ends alone, and a waiter goes on. Each caller's deadline and cancellation hold while
/// it waits.
///
/// Calls made with a conversation ID (getConversation, sendMessage, listMessages without a
/// cursor) that get 404 CONVERSATION_NOT_FOUND: if the cache holds that ID, or dropped it
/// lately as stale (the last 4,096 such IDs: calls concurrent with the first 404, or holding
/// an ID a merge event dropped), the entry goes, the participant's conversation is resolved
/// again (one GetOrCreate), and if its ID changed the same call is sent once more to the new
/// ID within the call's deadline. The 404 says nothing was done, so even a send is safe to
/// repeat. getConversation then answers with the new conversation; a message goes to it; a
/// page is its. A listing with a cursor is not repeated (the cursor belongs to the old
/// conversation). Without a cache, or for an ID it never held, the 404 is the answer.
struct ConversationCacheOptions {
    /// Entries kept; the least recently used goes when full. 0 (the default): no cache.
    /// At most 10,000,000. An entry costs about 1 KiB.
    std::size_t capacity = 0;
    /// How long an entry is trusted without a webhook or a 404 to say otherwise. Default 10
    /// minutes; 1 s .. 7 days.
    std::chrono::seconds timeToLive{600};
};

struct ConversationCacheStats {
    std::uint64_t hits = 0;          ///< calls answered from the cache
    std::uint64_t misses = 0;        ///< calls that sent the request (led a flight)
    std::uint64_t coalesced = 0;     ///< calls that waited for another's request
    std::uint64_t invalidated = 0;   ///< entries dropped by a 404 or a merge event
    std::uint64_t evicted = 0;       ///< entries dropped for room or age
    std::uint64_t reresolved = 0;    ///< calls sent again to a conversation's new ID
    std::size_t entries = 0;
};

} // namespace wix::inbox
