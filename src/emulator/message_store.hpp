// SPDX-License-Identifier: BSL-1.0
// The emulated service's messages, sans HTTP: per conversation, in sequence order, bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wix::inbox::emulator {

class MessageStore {
public:
    /// Bounds on memory: a send beyond either is refused (MESSAGE_LIMIT_REACHED).
    static constexpr std::size_t maxPerConversation = 10'000;
    static constexpr std::size_t maxTotal = 200'000;

    /// `json` is the message object without its "id", "sequence" and "createdDate", which
    /// the store gives it. The whole message as sent back, or nothing at a bound.
    std::optional<std::string> append(const std::string& conversationId, bool participantVisible, std::string_view json);

    struct Page {
        std::vector<std::string> messages; ///< JSON objects
        std::optional<std::int64_t> lastSequence; ///< of the page's last message, if more follow
    };
    /// Up to `limit` messages after `afterSequence` (exclusive; 0: from the start) in the
    /// order asked, only those the participant sees unless `all`.
    Page page(const std::string& conversationId, bool all, bool ascending, std::optional<std::int64_t> after,
              std::size_t limit) const;

    /// The message `messageId` of the conversation (JSON), if it is there.
    std::optional<std::string> find(const std::string& conversationId, std::string_view messageId) const;

    /// Moves `from`'s messages into `to`: merged in the order they were sent, sequences
    /// renumbered from 1.
    void merge(const std::string& from, const std::string& to);

    void clear();
    std::size_t size() const;

private:
    struct Stored {
        std::int64_t sequence;
        std::uint64_t sent;         // global send order: a merge keeps chronology
        bool participantVisible;
        std::string fields;         // the message's JSON, without its sequence and braces
    };
    static std::string render(const Stored& m);
    static constexpr std::uint64_t firstId = 1'000'000'000'000; // IDs are numeric strings: this plus the send order

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::vector<Stored>> byConversation_; // each in sequence order
    std::size_t total_ = 0;
    std::uint64_t sent_ = 0;
};

} // namespace wix::inbox::emulator
