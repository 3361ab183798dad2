// SPDX-License-Identifier: BSL-1.0
// A tenant's GetOrCreate results by participant: a bounded LRU with a time to live, a
// reverse index by conversation ID for invalidation, and the single flight that fills it.
// Thread-safe. Time is passed in, so tests drive it.
#pragma once

#include <wix/inbox/conversation_cache.hpp>
#include <wix/inbox/model.hpp>

#include "single_flight.hpp"

#include <chrono>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wix::inbox::detail {

class ConversationCache {
public:
    using Clock = std::chrono::steady_clock;

    explicit ConversationCache(const ConversationCacheOptions& options);

    /// The entry's key: the participant's kind and lower-case ID.
    static std::string keyOf(const ParticipantId& participant);

    /// The live entry for `key` (newConversation false), made most recently used; expired
    /// entries are dropped on the way.
    std::optional<GetOrCreateConversationResponse> find(const std::string& key, Clock::time_point now);
    void store(const std::string& key, const ParticipantId& participant, const Conversation& conversation,
               Clock::time_point now);

    /// Drops the entries of conversation `id` (any case); the participant of one of them, or
    /// of one dropped lately (by a merge event, or for a concurrent call with the same stale
    /// ID), whose conversation may be resolved again.
    std::optional<ParticipantId> forgetConversation(std::string_view id);
    /// Drops the entries of these conversations; how many.
    std::size_t forgetConversations(const std::vector<std::string>& ids);

    void noteReresolved();
    ConversationCacheStats stats() const;

    SingleFlight<GetOrCreateConversationResponse>& flights() { return flights_; }

private:
    struct Entry {
        std::string key;
        ParticipantId participant;
        Conversation conversation;
        Clock::time_point expiresAt;
    };
    using Entries = std::list<Entry>;

    // mutex_ held:
    void erase(Entries::iterator it);
    std::optional<ParticipantId> drop(const std::string& lowerCaseId);

    const std::size_t capacity_;
    const Clock::duration timeToLive_;
    SingleFlight<GetOrCreateConversationResponse> flights_{"the participant's conversation"};

    mutable std::mutex mutex_; // guards everything below
    Entries entries_;          // most recently used first
    std::unordered_map<std::string, Entries::iterator> byKey_;
    std::unordered_multimap<std::string, Entries::iterator> byConversation_;
    // Conversation IDs dropped as stale, with their participant, the latest few: the calls
    // that still hold one (made before a merge event, or concurrent with the first 404) are
    // resolved again as well.
    std::unordered_map<std::string, ParticipantId> gone_;
    std::deque<std::string> goneOrder_;
    std::uint64_t hits_ = 0, invalidated_ = 0, evicted_ = 0, reresolved_ = 0;
};

} // namespace wix::inbox::detail
