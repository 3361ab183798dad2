// SPDX-License-Identifier: BSL-1.0
// What a batch output belongs to, and who is writing it: `OUTPUT.wix-inbox-state` beside the
// output records the input it was made from, and the running batch holds it locked (flock)
// from start to end, so a second run on the same output (a cron job that overlaps itself, a
// pod replaced while the old one still runs) is refused at once instead of interleaving.
// The lock dies with its process: a kill leaves nothing to clean.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

namespace wix::inbox::cli {

/// A running fingerprint of input lines (64-bit FNV-1a over each line's bytes and a
/// newline): it tells one input from another by accident, not against an adversary.
class Fingerprint {
public:
    void add(std::string_view bytes) noexcept
    {
        for (const char c : bytes)
            value_ = (value_ ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    }
    void endLine() noexcept { add("\n"); }
    std::uint64_t value() const noexcept { return value_; }

    /// The fingerprint of `bytes` alone.
    static std::uint64_t of(std::string_view bytes) noexcept
    {
        Fingerprint f;
        f.add(bytes);
        return f.value();
    }

private:
    std::uint64_t value_ = 0xcbf29ce484222325ull;
};

/// 16 lower-case hex digits; and back (nothing if `text` is not exactly that).
std::string toHex(std::uint64_t value);
std::optional<std::uint64_t> fromHex(std::string_view text);

/// Lines and fingerprint of a whole input (or of its first `lines`).
struct InputIdentity {
    std::uint64_t lines = 0;
    std::uint64_t fingerprint = 0;
    bool operator==(const InputIdentity&) const = default;
};

struct JobState {
    std::string input;           ///< the input as named on the command line
    /// The input line of the output's last line the record covers (unsharded: the output's
    /// line count); the output may have more.
    std::uint64_t lines = 0;
    std::uint64_t fingerprint = 0; ///< of input lines 1..lines
    std::string shard;             ///< "K/N" for a shard's output, else empty
    bool finished = false;         ///< the run went through the whole input
    /// The whole input, once known: at the start for a regular file, at the end for a pipe.
    /// --resume and --retry-failed refuse an input that differs from it.
    std::optional<InputIdentity> whole;
    /// The send journal's ID once the job has sent (or was about to send) a message: the
    /// journal must then be there, with that ID, for the job to go on.
    std::string journal;
};

/// `OUTPUT.wix-inbox-state`.
std::string jobStatePath(const std::string& output);

/// Thrown when another process holds the output's state file.
class JobBusy : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The output file itself, locked (flock) for the life of this object, so that a run writing
/// the same file under another name (a symlink, a hard link) is refused as well. Made empty
/// if missing (through a link, as the user named it). Not thread-safe.
class OutputLock {
public:
    /// Throws JobBusy naming the holder's PID, std::runtime_error if it cannot be opened.
    explicit OutputLock(std::string path);
    ~OutputLock();
    OutputLock(const OutputLock&) = delete;
    OutputLock& operator=(const OutputLock&) = delete;

    /// Removes the file if this object made it and it is still empty (a refused run).
    void removeIfUnused() noexcept;

private:
    std::string path_;
    int fd_ = -1;
    bool created_ = false;
};

/// The state file, open and locked for the life of this object. Not thread-safe.
class JobStateFile {
public:
    /// Opens (making it if missing, never through a symlink) and locks `path`. Throws
    /// JobBusy naming the holder's PID when another run holds it, std::runtime_error when
    /// it cannot be opened or is not a regular file.
    explicit JobStateFile(std::string path);
    ~JobStateFile();
    JobStateFile(const JobStateFile&) = delete;
    JobStateFile& operator=(const JobStateFile&) = delete;

    const std::string& path() const noexcept { return path_; }

    /// The record; nothing if none was written yet; a message if it is not one of ours (or
    /// was damaged).
    std::variant<std::monostate, JobState, std::string> read() const;

    /// Rewrites the record in place (a self-checking line: a torn write reads as damaged, not
    /// as another record). Throws std::runtime_error if it cannot be written.
    void write(const JobState& state);

    /// Removes the file if this object made it and wrote nothing into it: a refused run
    /// leaves nothing behind. The lock is held until destruction.
    void removeIfUnused() noexcept;

private:
    std::string path_;
    int fd_ = -1;
    bool created_ = false;
    bool written_ = false;
};

} // namespace wix::inbox::cli
