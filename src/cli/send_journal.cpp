// SPDX-License-Identifier: BSL-1.0
#include "send_journal.hpp"

#include "iso_time.hpp"
#include "job_state.hpp"
#include "owned_file.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace wix::inbox::cli {
namespace json = boost::json;

namespace {

// A record holds at most one stored message (the client reads at most 1 MiB of a response).
constexpr std::size_t maxRecordBytes = std::size_t{4} << 20;
// A journal has a record or two per send line: a larger file is not one of ours.
constexpr std::uint64_t maxJournalBytes = std::uint64_t{64} << 30;
// Claimed IDs appended since the last sort; merged in when this many.
constexpr std::size_t unsortedClaims = 1024;

std::string newJournalId()
{
    std::random_device random;
    std::uniform_int_distribution<std::uint64_t> any;
    return toHex(any(random)) + toHex(any(random));
}

std::string framed(const std::string& json)
{
    return json + '\t' + toHex(Fingerprint::of(json)) + '\n';
}

// The JSON of a complete record whose fingerprint holds; nothing otherwise.
std::optional<json::object> unframe(std::string_view record)
{
    const auto tab = record.rfind('\t');
    if (tab == std::string_view::npos || fromHex(record.substr(tab + 1)) != Fingerprint::of(record.substr(0, tab)))
        return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(record.substr(0, tab), ec);
    std::optional<json::object> object;
    if (!ec && v.is_object())
        object.emplace(std::move(v.get_object()));
    return object;
}

// The line a torn record was about, from its first bytes (`{"line":N,`): records start so.
std::optional<std::uint64_t> tornLine(std::string_view record)
{
    constexpr std::string_view prefix = R"({"line":)";
    if (!record.starts_with(prefix))
        return std::nullopt;
    record.remove_prefix(prefix.size());
    const auto digits = record.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || digits > 19 || record[digits] != ',')
        return std::nullopt;
    return std::stoull(std::string(record.substr(0, digits)));
}

std::string directoryOf(const std::string& path)
{
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

std::string sendJournalPath(const std::string& output)
{
    return output + ".wix-inbox-journal";
}

SendJournal::SendJournal(std::string path, std::function<void(const std::string&)> onCreated)
    : path_(std::move(path)), onCreated_(std::move(onCreated))
{
}

SendJournal::SendJournal(SendJournal&& other) noexcept
    : fd_(std::exchange(other.fd_, -1))
    , path_(std::move(other.path_))
    , id_(std::move(other.id_))
    , onCreated_(std::move(other.onCreated_))
    , entries_(std::move(other.entries_))
    , claimed_(std::move(other.claimed_))
    , sorted_(other.sorted_)
    , broken_(other.broken_)
{
}

SendJournal::~SendJournal()
{
    if (fd_ >= 0)
        ::close(fd_);
}

SendJournal SendJournal::fresh(std::string path, std::function<void(const std::string&)> onCreated)
{
    if (!path.empty() && ::unlink(path.c_str()) != 0 && errno != ENOENT) // an earlier job's: this job replaces it
        throw std::runtime_error("cannot remove the send journal '" + path + "': " + std::strerror(errno));
    return SendJournal(std::move(path), std::move(onCreated));
}

SendJournal SendJournal::resume(std::string path, const std::string& expectedId,
                                const std::function<bool(std::uint64_t)>& keep,
                                std::function<void(const std::string&)> onCreated)
{
    SendJournal journal(std::move(path), std::move(onCreated));
    journal.load(expectedId, keep);
    return journal;
}

void SendJournal::load(const std::string& expectedId, const std::function<bool(std::uint64_t)>& keep)
{
    const std::string cannotGoOn = ": the messages this job sent cannot be checked, so nothing is sent. Restore it, or "
                                   "start again with --overwrite (which sends every line again)";
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0 && errno == ENOENT) {
        if (!expectedId.empty())
            throw std::runtime_error("the send journal '" + path_ + "' is missing" + cannotGoOn);
        return;
    }
    fd_ = openOwnedFile(path_, O_RDWR | O_APPEND, "send journal");
    const auto size = checkReadable(fd_, path_, maxJournalBytes);
    ::fstat(fd_, &st);

    std::uint64_t goodEnd = 0; // the end of the last record that checks
    std::optional<std::uint64_t> damagedAt;
    std::string record, torn;
    std::uint64_t records = 0; // after the header
    const auto take = [&](std::uint64_t start, std::uint64_t end) {
        if (damagedAt)
            throw std::runtime_error("the send journal '" + path_ + "' is damaged at byte " + std::to_string(*damagedAt)
                                     + " (a record that does not check, with others after it)" + cannotGoOn);
        auto o = unframe(record);
        if (!o) { // the last record may be torn; whether it is the last is known at the next one
            damagedAt = start;
            torn = std::move(record);
            return;
        }
        goodEnd = end;
        if (id_.empty()) {
            const auto* id = o->if_contains("journal");
            if (!id || !id->is_string() || id->get_string().empty())
                throw std::runtime_error("'" + path_ + "' is not a wix-inbox send journal" + cannotGoOn);
            id_ = std::string(id->get_string());
            return;
        }
        ++records;
        const auto* line = o->if_contains("line");
        if (!line || !line->is_int64() || line->get_int64() < 1)
            throw std::runtime_error("the send journal '" + path_ + "' has a record without its line" + cannotGoOn);
        const auto n = static_cast<std::uint64_t>(line->get_int64());
        if (const auto* message = o->if_contains("message"); message && message->is_object()) {
            if (const auto* id = message->get_object().if_contains("id"); id && id->is_string())
                claim(std::string(id->get_string()));
            if (keep(n))
                entries_[n].message = json::serialize(*message);
        } else if (const auto* at = o->if_contains("intentAt"); at && at->is_string() && keep(n)) {
            auto& e = entries_[n];
            e.intentAt = at->get_string();
            const auto* input = o->if_contains("input");
            e.input = input && input->is_string() ? fromHex(input->get_string()).value_or(0) : 0;
        }
    };

    std::vector<char> chunk(std::size_t{1} << 16);
    std::uint64_t start = 0;
    for (std::uint64_t at = 0; at < size;) {
        const auto n = ::pread(fd_, chunk.data(), static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - at)),
                               static_cast<off_t>(at));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i) {
            if (chunk[static_cast<std::size_t>(i)] == '\n') {
                take(start, at + static_cast<std::uint64_t>(i) + 1);
                start = at + static_cast<std::uint64_t>(i) + 1;
                record.clear();
            } else if (record.size() < maxRecordBytes) {
                record += chunk[static_cast<std::size_t>(i)];
            } else { // no record is this long, torn or not: the file is not read further
                throw std::runtime_error("the send journal '" + path_ + "' has a record longer than "
                                         + std::to_string(maxRecordBytes) + " bytes at byte " + std::to_string(start)
                                         + cannotGoOn);
            }
        }
        at += static_cast<std::uint64_t>(n);
    }
    if (start < size) { // bytes after the last newline: a record torn by a kill or a full disk
        if (damagedAt)
            throw std::runtime_error("the send journal '" + path_ + "' is damaged at byte " + std::to_string(*damagedAt)
                                     + cannotGoOn);
        torn = std::move(record);
    }
    if (id_.empty()) {
        if (!expectedId.empty())
            throw std::runtime_error("the send journal '" + path_ + "' is empty or damaged at its start" + cannotGoOn);
        // Torn before its first record was complete: no intent was ever written to it.
        ::close(std::exchange(fd_, -1));
        ::unlink(path_.c_str());
        return;
    }
    // The state names a journal before its first intent: one with intents the state does not
    // name was left by another job (or its state was lost), and says nothing of this one.
    if (expectedId.empty() && records > 0)
        throw std::runtime_error("the send journal '" + path_ + "' holds sends, but the output's state names no "
                                 "journal: it is another job's, or the state was lost" + cannotGoOn);
    if (!expectedId.empty() && id_ != expectedId)
        throw std::runtime_error("the send journal '" + path_ + "' is another job's (the output's state names journal "
                                 + expectedId + ")" + cannotGoOn);
    // A torn record's line may have been sent: with no intent, it gets one as old as the file.
    if (const auto line = tornLine(torn); line && keep(*line) && !entries_.contains(*line))
        entries_[*line].intentAt = isoUtc(std::chrono::system_clock::from_time_t(st.st_mtime));
    if (goodEnd < size && ::ftruncate(fd_, static_cast<off_t>(goodEnd)) != 0)
        throw std::runtime_error("cannot cut the torn last record of the send journal '" + path_ + "': "
                                 + std::strerror(errno));
    if (expectedId.empty() && onCreated_)
        onCreated_(id_); // the state learns of a journal made just before a kill
}

const SendJournal::Entry* SendJournal::find(std::uint64_t line) const
{
    const auto it = entries_.find(line);
    return it == entries_.end() ? nullptr : &it->second;
}

void SendJournal::write(const std::string& json, bool durable)
{
    if (path_.empty())
        return;
    if (broken_)
        throw std::runtime_error("the send journal '" + path_ + "' could not be written earlier: nothing more is sent");
    if (fd_ < 0) { // made by the first send: a batch that sends nothing leaves no journal
        fd_ = openOwnedFile(path_, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, "send journal");
        id_ = newJournalId();
        writeAll(fd_, path_, framed(json::serialize(json::object{{"journal", id_}})));
        // The file and its name reach the disk before the state names it.
        const int directory = ::open(directoryOf(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (::fdatasync(fd_) != 0 || directory < 0 || ::fsync(directory) != 0) {
            const int why = errno;
            if (directory >= 0)
                ::close(directory);
            throw std::runtime_error("cannot flush the send journal '" + path_ + "': " + std::strerror(why));
        }
        ::close(directory);
        if (onCreated_)
            onCreated_(id_);
    }
    try {
        writeAll(fd_, path_, framed(json));
    } catch (...) {
        broken_ = true; // what reached the file may be a torn record: nothing is appended to it
        throw;
    }
    if (durable && ::fdatasync(fd_) != 0)
        throw std::runtime_error("cannot flush the send journal '" + path_ + "': " + std::strerror(errno));
}

void SendJournal::intent(std::uint64_t line, const std::string& conversationId, const std::string& at,
                         std::uint64_t input)
{
    write(json::serialize(json::object{{"line", line}, {"conversationId", conversationId}, {"intentAt", at},
                                       {"input", toHex(input)}}),
          true);
    auto& e = entries_[line];
    e.intentAt = at;
    e.input = input;
}

void SendJournal::sent(std::uint64_t line, const std::string& conversationId, const Message& message)
{
    auto stored = json::serialize(toJson(message));
    // Written, not flushed: a kill leaves it in the kernel's cache; a crash of the machine
    // loses it, and the line is then reconciled as one with an intent only.
    write(R"({"line":)" + std::to_string(line) + R"(,"conversationId":)" + json::serialize(json::string(conversationId))
              + R"(,"message":)" + stored + "}",
          false);
    claim(message.id);
    entries_[line].message = std::move(stored);
}

void SendJournal::claim(const std::string& messageId)
{
    claimed_.push_back(Fingerprint::of(messageId));
    if (claimed_.size() - sorted_ < unsortedClaims)
        return;
    std::sort(claimed_.begin() + static_cast<std::ptrdiff_t>(sorted_), claimed_.end());
    std::inplace_merge(claimed_.begin(), claimed_.begin() + static_cast<std::ptrdiff_t>(sorted_), claimed_.end());
    sorted_ = claimed_.size();
}

bool SendJournal::unclaimed(const std::string& id) const
{
    const auto key = Fingerprint::of(id);
    const auto sortedEnd = claimed_.begin() + static_cast<std::ptrdiff_t>(sorted_);
    return !std::binary_search(claimed_.begin(), sortedEnd, key) && std::find(sortedEnd, claimed_.end(), key) == claimed_.end();
}

} // namespace wix::inbox::cli
