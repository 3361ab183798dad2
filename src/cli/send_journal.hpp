// What makes a batch's sends exactly-once across kills: a journal beside the output
// (OUTPUT.wix-inbox-journal, NDJSON). Before a line's message is sent, its intent (line,
// conversation, time) is written and flushed to the disk (fdatasync); once the service has
// answered, the message as stored. A line found with an intent but no message was perhaps
// sent: it is reconciled (cli/send_line.hpp) before anything is sent again.
#pragma once

#include <wix/inbox/message.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace wix::inbox::cli {

class SendJournal {
public:
    struct Entry {
        std::string conversationId;
        std::string intentAt;              ///< ISO-8601 UTC of the last intent; empty if none
        std::optional<std::string> message; ///< the message as stored (JSON), once sent
    };

    /// `path` empty: in memory only (an output on standard output cannot be resumed).
    /// With `resume`, reads what earlier runs wrote (a torn last record is ignored) and keeps
    /// the entries of lines after `doneThrough` (the lines before are in the output); otherwise
    /// removes an earlier job's journal. The file is made by the first send. Throws
    /// std::runtime_error if it cannot be read or written.
    SendJournal(const std::string& path, bool resume, std::uint64_t doneThrough);
    ~SendJournal();
    SendJournal(const SendJournal&) = delete;
    SendJournal& operator=(const SendJournal&) = delete;

    const Entry* find(std::uint64_t line) const;
    /// Durable before it returns (a full disk throws).
    void intent(std::uint64_t line, const std::string& conversationId, const std::string& at);
    /// The message as stored; it claims the message's ID.
    void sent(std::uint64_t line, const std::string& conversationId, const Message& message);
    /// True if no line has the message `id` yet (it is then this caller's to claim with sent()).
    bool unclaimed(const std::string& id) const { return !claimed_.contains(id); }

private:
    void write(const std::string& record, bool durable);

    int fd_ = -1;
    std::string path_;
    std::unordered_map<std::uint64_t, Entry> entries_;
    std::unordered_set<std::string> claimed_; // IDs of messages that lines have, all runs
};

/// OUTPUT.wix-inbox-journal.
std::string sendJournalPath(const std::string& output);

} // namespace wix::inbox::cli
