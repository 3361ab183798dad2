// SPDX-License-Identifier: BSL-1.0
#include "conversation_cache.hpp"

namespace wix::inbox::detail {

namespace {
constexpr std::size_t goneCapacity = 4096; // stale IDs remembered: about 200 KiB at most
}

ConversationCache::ConversationCache(const ConversationCacheOptions& options)
    : capacity_(options.capacity)
    , timeToLive_(options.timeToLive)
{
}

std::string ConversationCache::keyOf(const ParticipantId& participant)
{
    std::string key(participant.wireField());
    key.append(":").append(lowerCaseGuid(participant.id()));
    return key;
}

void ConversationCache::erase(Entries::iterator it)
{
    auto [first, last] = byConversation_.equal_range(it->conversation.id);
    for (; first != last; ++first)
        if (first->second == it) {
            byConversation_.erase(first);
            break;
        }
    byKey_.erase(it->key);
    entries_.erase(it);
}

std::optional<GetOrCreateConversationResponse> ConversationCache::find(const std::string& key, Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    const auto found = byKey_.find(key);
    if (found == byKey_.end())
        return std::nullopt;
    const auto it = found->second;
    if (now >= it->expiresAt) {
        erase(it);
        ++evicted_;
        return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, it);
    ++hits_;
    return GetOrCreateConversationResponse{it->conversation, false};
}

void ConversationCache::store(const std::string& key, const ParticipantId& participant, const Conversation& conversation,
                              Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    if (const auto old = byKey_.find(key); old != byKey_.end())
        erase(old->second);
    while (entries_.size() >= capacity_ && !entries_.empty()) {
        erase(std::prev(entries_.end()));
        ++evicted_;
    }
    entries_.push_front(Entry{key, participant, conversation, now + timeToLive_});
    const auto it = entries_.begin();
    it->conversation.id = lowerCaseGuid(it->conversation.id);
    byKey_.emplace(key, it);
    byConversation_.emplace(it->conversation.id, it);
}

std::optional<ParticipantId> ConversationCache::drop(const std::string& id)
{
    std::optional<ParticipantId> participant;
    for (auto found = byConversation_.find(id); found != byConversation_.end(); found = byConversation_.find(id)) {
        participant = found->second->participant;
        erase(found->second);
        ++invalidated_;
    }
    if (participant && gone_.emplace(id, *participant).second) {
        goneOrder_.push_back(id);
        if (goneOrder_.size() > goneCapacity) {
            gone_.erase(goneOrder_.front());
            goneOrder_.pop_front();
        }
    }
    return participant;
}

std::optional<ParticipantId> ConversationCache::forgetConversation(std::string_view id)
{
    const std::string key = lowerCaseGuid(id);
    std::lock_guard lock(mutex_);
    if (auto participant = drop(key))
        return participant;
    if (const auto it = gone_.find(key); it != gone_.end())
        return it->second;
    return std::nullopt;
}

std::size_t ConversationCache::forgetConversations(const std::vector<std::string>& ids)
{
    std::lock_guard lock(mutex_);
    const auto before = invalidated_;
    for (const auto& id : ids)
        drop(lowerCaseGuid(id));
    return invalidated_ - before;
}

void ConversationCache::noteReresolved()
{
    std::lock_guard lock(mutex_);
    ++reresolved_;
}

ConversationCacheStats ConversationCache::stats() const
{
    ConversationCacheStats s;
    s.misses = flights_.led();
    s.coalesced = flights_.joined();
    std::lock_guard lock(mutex_);
    s.hits = hits_;
    s.invalidated = invalidated_;
    s.evicted = evicted_;
    s.reresolved = reresolved_;
    s.entries = entries_.size();
    return s;
}

} // namespace wix::inbox::detail
