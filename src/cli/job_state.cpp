// SPDX-License-Identifier: BSL-1.0
#include "job_state.hpp"

#include "owned_file.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wix::inbox::cli {
namespace json = boost::json;

namespace {

// A state record is a few hundred bytes: anything much larger is not ours.
constexpr std::uint64_t maxStateBytes = std::uint64_t{64} * 1024;

// The PID holding a flock on the file `st` names, from /proc/locks ("1: FLOCK ADVISORY WRITE
// PID MAJ:MIN:INODE 0 EOF", major and minor in hex); nothing where it cannot be told.
std::optional<long> lockHolder(const struct stat& st)
{
    std::ifstream locks("/proc/locks");
    char device[64];
    std::snprintf(device, sizeof device, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                  static_cast<unsigned long long>(st.st_ino));
    for (std::string line; std::getline(locks, line);) {
        std::istringstream fields(line);
        std::string number, kind, mode, access, pid, file;
        fields >> number >> kind >> mode >> access >> pid >> file;
        if (number != "->" && kind == "FLOCK" && file == device)
            return std::strtol(pid.c_str(), nullptr, 10);
    }
    return std::nullopt;
}

// Takes the run's lock on the open `fd` (of `path`), or throws JobBusy naming the holder.
void lockOrRefuse(int fd, const std::string& path)
{
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
        return;
    const int why = errno;
    struct stat st {};
    ::fstat(fd, &st);
    ::close(fd);
    if (why != EWOULDBLOCK)
        throw std::runtime_error("cannot lock '" + path + "': " + std::strerror(why));
    const auto holder = lockHolder(st);
    throw JobBusy("another run is writing this output (" + (holder ? "PID " + std::to_string(*holder)
                                                                   : std::string("its PID is unknown"))
                  + " holds '" + path + "'): wait for it to end, or stop it first");
}

} // namespace

std::string toHex(std::uint64_t value)
{
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(value));
    return hex;
}

std::optional<std::uint64_t> fromHex(std::string_view text)
{
    if (text.size() != 16)
        return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : text) {
        const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (digit < 0)
            return std::nullopt;
        value = value << 4 | static_cast<unsigned>(digit);
    }
    return value;
}

std::string jobStatePath(const std::string& output)
{
    return output + ".wix-inbox-state";
}

JobStateFile::JobStateFile(std::string path) : path_(std::move(path))
{
    for (;;) {
        struct stat before {};
        created_ = ::lstat(path_.c_str(), &before) != 0 && errno == ENOENT;
        const int fd = openOwnedFile(path_, O_RDWR | O_CREAT, "state file of the output");
        lockOrRefuse(fd, path_);
        fd_ = fd;
        // A refused run removes the file it made: the lock must be on the file the path names now.
        struct stat locked {}, named {};
        if (::fstat(fd_, &locked) == 0 && ::lstat(path_.c_str(), &named) == 0 && locked.st_dev == named.st_dev
            && locked.st_ino == named.st_ino)
            return;
        ::close(fd_);
        fd_ = -1;
    }
}

OutputLock::OutputLock(std::string path) : path_(std::move(path))
{
    struct stat st {};
    created_ = ::lstat(path_.c_str(), &st) != 0 && errno == ENOENT;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0)
        throw std::runtime_error("cannot open output '" + path_ + "': " + std::strerror(errno));
    lockOrRefuse(fd, path_);
    fd_ = fd;
}

OutputLock::~OutputLock()
{
    if (fd_ >= 0)
        ::close(fd_);
}

void OutputLock::removeIfUnused() noexcept
{
    struct stat st {};
    if (created_ && ::fstat(fd_, &st) == 0 && st.st_size == 0)
        ::unlink(path_.c_str());
}

JobStateFile::~JobStateFile()
{
    if (fd_ >= 0)
        ::close(fd_);
}

void JobStateFile::removeIfUnused() noexcept
{
    struct stat st {};
    if (created_ && !written_ && ::fstat(fd_, &st) == 0 && st.st_size == 0)
        ::unlink(path_.c_str());
}

std::variant<std::monostate, JobState, std::string> JobStateFile::read() const
{
    const std::string notOurs = "'" + path_ + "' is not a wix-inbox job state file (or it was damaged)";
    std::string text(checkReadable(fd_, path_, maxStateBytes), '\0');
    const auto n = ::pread(fd_, text.data(), text.size(), 0);
    if (n < 0)
        throw std::runtime_error("cannot read '" + path_ + "': " + std::strerror(errno));
    text.resize(static_cast<std::size_t>(n));
    if (text.empty())
        return std::monostate{};
    // One line: the JSON record, a tab, and the fingerprint of the record.
    const auto end = text.find('\n');
    const auto tab = text.rfind('\t', end);
    if (end == std::string::npos || tab == std::string::npos
        || fromHex(std::string_view(text).substr(tab + 1, end - tab - 1)) != Fingerprint::of(text.substr(0, tab)))
        return notOurs;
    boost::system::error_code ec;
    const auto v = json::parse(std::string_view(text).substr(0, tab), ec);
    const auto* o = (!ec && v.is_object()) ? &v.get_object() : nullptr;
    const auto* input = o ? o->if_contains("input") : nullptr;
    const auto* lines = o ? o->if_contains("lines") : nullptr;
    const auto* fingerprint = o ? o->if_contains("fingerprint") : nullptr;
    if (!input || !input->is_string() || !lines || !lines->is_int64() || lines->get_int64() < 0 || !fingerprint
        || !fingerprint->is_string() || !fromHex(fingerprint->get_string()))
        return notOurs;
    JobState s;
    s.input = std::string(input->get_string());
    s.lines = static_cast<std::uint64_t>(lines->get_int64());
    s.fingerprint = *fromHex(fingerprint->get_string());
    const auto text_of = [&](const char* key) -> std::optional<std::string> {
        const auto* field = o->if_contains(key);
        if (field && field->is_string())
            return std::string(field->get_string());
        return std::nullopt;
    };
    s.finished = o->contains("finished") && o->at("finished").is_bool() && o->at("finished").get_bool();
    s.shard = text_of("shard").value_or("");
    s.journal = text_of("journal").value_or("");
    if (const auto* whole = o->if_contains("whole")) {
        const auto* w = whole->if_object();
        const auto* wl = w ? w->if_contains("lines") : nullptr;
        const auto* wf = w ? w->if_contains("fingerprint") : nullptr;
        if (!wl || !wl->is_int64() || wl->get_int64() < 0 || !wf || !wf->is_string() || !fromHex(wf->get_string()))
            return notOurs;
        s.whole = InputIdentity{static_cast<std::uint64_t>(wl->get_int64()), *fromHex(wf->get_string())};
    }
    return s;
}

void JobStateFile::write(const JobState& state)
{
    json::object record{{"input", state.input},
                        {"lines", static_cast<std::int64_t>(state.lines)},
                        {"fingerprint", toHex(state.fingerprint)}};
    if (!state.shard.empty())
        record["shard"] = state.shard;
    if (state.finished)
        record["finished"] = true;
    if (state.whole)
        record["whole"] = json::object{{"lines", static_cast<std::int64_t>(state.whole->lines)},
                                       {"fingerprint", toHex(state.whole->fingerprint)}};
    if (!state.journal.empty())
        record["journal"] = state.journal;
    record["pid"] = static_cast<std::int64_t>(::getpid());
    std::string text = json::serialize(record);
    text += '\t' + toHex(Fingerprint::of(text)) + '\n';
    // In place, so the lock stays on the file the path names; a longer earlier record's tail
    // is cut off after (a kill between the two leaves a checked first line and junk after it).
    writeAll(fd_, path_, text, 0);
    if (::ftruncate(fd_, static_cast<off_t>(text.size())) != 0)
        throw std::runtime_error("cannot write '" + path_ + "': " + std::strerror(errno));
    written_ = true;
}

} // namespace wix::inbox::cli
