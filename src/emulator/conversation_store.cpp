// SPDX-License-Identifier: BSL-1.0
#include "emulator/conversation_store.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <random>

namespace wix::inbox::emulator {
namespace json = boost::json;
namespace {

std::string newGuid()
{
    thread_local std::mt19937_64 random{std::random_device{}()};
    const std::uint64_t a = random(), b = random();
    char out[37];
    std::snprintf(out, sizeof out, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(b & 0xffffffffffffull));
    return out;
}

} // namespace

// "tenant\nfield:id": a newline never appears in a tenant label (it comes from one header).
std::string ConversationStore::Identity::key() const
{
    return tenant + "\n" + field + ":" + id;
}

ConversationStore::Shard& ConversationStore::shardFor(std::string_view key)
{
    return shards_[std::hash<std::string_view>{}(key) % shardCount];
}

const ConversationStore::Shard& ConversationStore::shardFor(std::string_view key) const
{
    return shards_[std::hash<std::string_view>{}(key) % shardCount];
}

std::shared_ptr<const ConversationStore::Conversation> ConversationStore::find(const std::string& id) const
{
    const Shard& shard = shardFor(id);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.byId.find(id);
    return it == shard.byId.end() ? nullptr : it->second;
}

ConversationStore::Resolved ConversationStore::getOrCreate(Identity identity)
{
    std::string contactOfMember;
    {
        // A promoted identity now stands for the participant's current one.
        std::lock_guard lock(identitiesMutex_);
        for (auto it = promotedTo_.find(identity.key()); it != promotedTo_.end(); it = promotedTo_.find(identity.key()))
            identity = it->second;
        if (auto c = memberContacts_.find(identity.key()); c != memberContacts_.end())
            contactOfMember = c->second;
    }
    const std::string key = identity.key();
    Shard& shard = shardFor(key);
    {
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.byParticipant.find(key); it != shard.byParticipant.end())
            return {it->second, false, {}};
    }
    Resolved r{make(identity, contactOfMember), false, {}};
    {
        std::lock_guard lock(shard.mutex);
        auto [it, inserted] = shard.byParticipant.emplace(key, r.conversation);
        r.created = inserted;
        r.conversation = it->second; // a concurrent caller may have created it first
    }
    if (r.created) {
        {
            Shard& idShard = shardFor(r.conversation->id);
            std::lock_guard lock(idShard.mutex);
            idShard.byId.emplace(r.conversation->id, r.conversation);
        }
        std::lock_guard lock(identitiesMutex_);
        if (auto it = pendingMerges_.find(key); it != pendingMerges_.end()) {
            r.mergedInto = std::move(it->second);
            pendingMerges_.erase(it);
        }
    }
    return r;
}

ConversationStore::Promotion ConversationStore::promote(const Identity& old, const Identity& next)
{
    {
        std::lock_guard lock(identitiesMutex_);
        promotedTo_[old.key()] = next;
        if (next.field == "memberId" && old.field == "contactId")
            memberContacts_[next.key()] = old.id; // the member keeps the contact it was
    }
    // The old conversation is merged into the participant's next one: its ID is gone.
    Promotion p;
    const std::string oldKey = old.key();
    std::shared_ptr<const Conversation> merged;
    {
        Shard& shard = shardFor(oldKey);
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.byParticipant.find(oldKey); it != shard.byParticipant.end()) {
            merged = it->second;
            shard.byParticipant.erase(it);
        }
    }
    if (merged) {
        p.mergedConversationId = merged->id;
        Shard& idShard = shardFor(merged->id);
        std::lock_guard lock(idShard.mutex);
        idShard.byId.erase(merged->id);
    }
    // Its messages go to the next identity's conversation, now or when it is made.
    {
        Shard& shard = shardFor(next.key());
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.byParticipant.find(next.key()); it != shard.byParticipant.end())
            p.target = it->second->id;
    }
    std::lock_guard lock(identitiesMutex_);
    auto waiting = std::move(pendingMerges_[oldKey]);
    pendingMerges_.erase(oldKey);
    if (merged)
        waiting.push_back(merged->id);
    if (p.target.empty()) {
        auto& list = pendingMerges_[next.key()];
        list.insert(list.end(), waiting.begin(), waiting.end());
    } else {
        p.mergeNow = std::move(waiting);
    }
    return p;
}

std::shared_ptr<const ConversationStore::Conversation> ConversationStore::make(const Identity& identity,
                                                                              const std::string& contactOfMember)
{
    const std::string_view field = identity.field, participantId = identity.id;
    auto c = std::make_shared<Conversation>();
    c->id = newGuid();
    c->tenant = identity.tenant;
    c->participant = identity;
    json::object participant{{field, participantId}};
    if (field == "memberId") { // members always also have a contact
        c->contactId = contactOfMember.empty() ? newGuid() : contactOfMember;
        participant["contactId"] = c->contactId;
    } else if (field == "contactId") {
        c->contactId = identity.id;
    }
    c->participantJson = json::serialize(participant);
    json::object conversation{{"id", c->id},
                              {"participant", std::move(participant)},
                              {"channels", json::array{"CHAT"}},
                              {"businessDisplayData", json::object{{"name", "emulated-business"}}}};
    c->json = json::serialize(conversation);
    return c;
}

void ConversationStore::clear()
{
    {
        std::lock_guard lock(identitiesMutex_);
        promotedTo_.clear();
        memberContacts_.clear();
        pendingMerges_.clear();
    }
    for (auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        shard.byParticipant.clear();
        shard.byId.clear();
    }
}

std::size_t ConversationStore::size() const
{
    std::size_t n = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        n += shard.byParticipant.size();
    }
    return n;
}

} // namespace wix::inbox::emulator
