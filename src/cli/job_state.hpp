// What a batch output belongs to: a small file beside the output recording the input it
// was made from and a fingerprint of the input lines it covers, so that --resume can
// refuse to mix two jobs' lines in one output.
#pragma once

#include <cstdint>
#include <optional>
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

private:
    std::uint64_t value_ = 0xcbf29ce484222325ull;
};

struct JobState {
    std::string input;           ///< the input as named on the command line
    /// The input line of the output's last line the record covers (unsharded: the output's
    /// line count); the output may have more.
    std::uint64_t lines = 0;
    std::uint64_t fingerprint = 0; ///< of input lines 1..lines
    std::string shard;             ///< "K/N" for a shard's output, else empty
    bool finished = false;         ///< the run went through the whole input
};

/// `OUTPUT.wix-inbox-state`.
std::string jobStatePath(const std::string& output);

/// The state file's content; nothing if there is none; a message if it is not one of ours.
std::variant<std::monostate, JobState, std::string> readJobState(const std::string& path);

/// Replaces the state file atomically (a temporary file renamed over it). Throws
/// std::runtime_error if it cannot be written.
void writeJobState(const std::string& path, const JobState& state);

} // namespace wix::inbox::cli
