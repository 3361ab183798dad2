// SPDX-License-Identifier: BSL-1.0
// The emulated service's conversations, sans HTTP: one per participant per tenant, found by
// participant or by ID, and the promotions that merge a participant's conversation into the
// next one (messages follow through the merges this store reports).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wix::inbox::emulator {

class ConversationStore {
public:
    /// Who a participant is: "contactId", "anonymousVisitorId" or "memberId", a lower-case
    /// GUID, and whose (the tenant's label).
    struct Identity {
        std::string field;
        std::string id;
        std::string tenant;
        std::string key() const; ///< unique across tenants
    };

    struct Conversation {
        std::string id;
        std::string tenant; // whose it is
        std::string json;   // serialized once: responses only splice it in
        Identity participant;
        std::string contactId; // a member's contact, or the contact's own ID
        std::string participantJson; // IdentificationData: a message's sender, a button's presser
    };

    struct Resolved {
        std::shared_ptr<const Conversation> conversation;
        bool created = false;
        /// Conversations merged into this new one before it existed: their messages move here.
        std::vector<std::string> mergedInto;
    };
    /// The participant's conversation (its current identity's, after promotions), made if
    /// it has none. Thread-safe.
    Resolved getOrCreate(Identity identity);

    /// The conversation `id` (lower case), if it exists.
    std::shared_ptr<const Conversation> find(const std::string& id) const;

    struct Promotion {
        std::optional<std::string> mergedConversationId; ///< the old identity's, now gone
        /// Conversations whose messages move to `target` now; empty when the next identity has
        /// no conversation yet (they move when it is made: Resolved::mergedInto).
        std::vector<std::string> mergeNow;
        std::string target;
    };
    /// `from` becomes `to` (a later kind): its conversation is merged into the next one.
    Promotion promote(const Identity& from, const Identity& to);

    void clear();
    std::size_t size() const;

private:
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, std::shared_ptr<const Conversation>> byParticipant;
        std::unordered_map<std::string, std::shared_ptr<const Conversation>> byId;
    };
    static constexpr std::size_t shardCount = 64;
    Shard& shardFor(std::string_view key);
    const Shard& shardFor(std::string_view key) const;
    static std::shared_ptr<const Conversation> make(const Identity& identity, const std::string& contactOfMember);

    std::array<Shard, shardCount> shards_;
    std::mutex identitiesMutex_; // guards the three maps below
    std::unordered_map<std::string, Identity> promotedTo_;        // Identity::key() -> the next identity
    std::unordered_map<std::string, std::string> memberContacts_; // a member's key -> its contact ID
    // An identity's conversation-to-be -> the merged conversations whose messages it takes.
    std::unordered_map<std::string, std::vector<std::string>> pendingMerges_;
};

} // namespace wix::inbox::emulator
