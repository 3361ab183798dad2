// SPDX-License-Identifier: BSL-1.0
// What makes a batch's sends exactly-once across kills: a journal beside the output
// (OUTPUT.wix-inbox-journal). Before a line's message is sent, its intent (line, conversation,
// time, and a fingerprint of the input line) is written and flushed to the disk (fdatasync);
// once the service has answered, the message as stored. A line found with an intent but no
// message was perhaps sent: it is reconciled (cli/send_line.hpp) before anything is sent again.
//
// Each record is a self-checking line: JSON, a tab, and the fingerprint of the JSON. The
// first record names the journal's ID, which the job's state file records before the first
// intent is written, so a journal deleted, emptied or swapped for another is noticed. Only
// the last record may be torn (a kill or a full disk mid-write): it is cut off before anything
// is appended, and a line it names is treated as perhaps sent. A damaged record elsewhere
// means the file was changed: it is refused.
#pragma once

#include <wix/inbox/message.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace wix::inbox::cli {

class SendJournal {
public:
    struct Entry {
        std::string intentAt;               ///< ISO-8601 UTC of the last intent; empty if none
        std::uint64_t input = 0;            ///< fingerprint of the input line of the intent; 0: unknown
        std::optional<std::string> message; ///< the message as stored (JSON), once sent
    };

    /// A journal that starts empty: any earlier job's journal at `path` is removed. `path`
    /// empty: in memory only (an output on standard output cannot be resumed).
    /// `onCreated(id)` is called once the file exists with its ID, before the first intent.
    static SendJournal fresh(std::string path, std::function<void(const std::string&)> onCreated);

    /// Continues the journal at `path`. `expectedId`: the ID the job's state recorded (empty
    /// if none: a journal there is still read, one torn before its first record is removed).
    /// Entries are kept for the lines `keep` selects (the lines this run may call); every
    /// stored message claims its ID. Throws std::runtime_error when the journal the state
    /// names is missing or another, is damaged, or is not a regular file of bounded size.
    static SendJournal resume(std::string path, const std::string& expectedId,
                              const std::function<bool(std::uint64_t)>& keep,
                              std::function<void(const std::string&)> onCreated);

    ~SendJournal();
    SendJournal(SendJournal&& other) noexcept;
    SendJournal& operator=(SendJournal&&) = delete;
    SendJournal(const SendJournal&) = delete;
    SendJournal& operator=(const SendJournal&) = delete;

    /// The journal's ID; empty until the first record.
    const std::string& id() const noexcept { return id_; }

    const Entry* find(std::uint64_t line) const;
    /// Durable before it returns (a full disk throws). `input`: the input line's fingerprint.
    void intent(std::uint64_t line, const std::string& conversationId, const std::string& at, std::uint64_t input);
    /// The message as stored; it claims the message's ID.
    void sent(std::uint64_t line, const std::string& conversationId, const Message& message);
    /// True if no line has the message `id` yet (it is then this caller's to claim with sent()).
    bool unclaimed(const std::string& id) const;
    /// The line is settled (its output line is out): its entry is no longer held in memory.
    void forget(std::uint64_t line) { entries_.erase(line); }

private:
    SendJournal(std::string path, std::function<void(const std::string&)> onCreated);
    void load(const std::string& expectedId, const std::function<bool(std::uint64_t)>& keep);
    void write(const std::string& json, bool durable);
    void claim(const std::string& messageId);

    int fd_ = -1;
    std::string path_;
    std::string id_;
    std::function<void(const std::string&)> onCreated_;
    std::unordered_map<std::uint64_t, Entry> entries_;
    // Fingerprints of the message IDs that lines have, all runs: 8 bytes a message, sorted,
    // with a short unsorted tail merged in when it fills.
    std::vector<std::uint64_t> claimed_;
    std::size_t sorted_ = 0;
    bool broken_ = false; // a write failed: the file may end in a torn record
};

/// OUTPUT.wix-inbox-journal.
std::string sendJournalPath(const std::string& output);

} // namespace wix::inbox::cli
