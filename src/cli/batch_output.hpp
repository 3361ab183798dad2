// SPDX-License-Identifier: BSL-1.0
// The batch's output: whole lines appended in input order (OutputSink), and, for a
// --retry-failed pass, the output it replaces, read line by line beside the input
// (PreviousOutput).
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace wix::inbox::cli {

/// Appends whole lines; only complete lines ever reach the file except, after a kill or a
/// failed write, possibly a torn last one (which --resume cuts off).
class OutputSink {
public:
    enum class Open {
        replace,  ///< the user's output, emptied (they asked for it, or it is new)
        append,   ///< the user's output, continued after its first `keepBytes` bytes
        makeOwn,  ///< a file of wix-inbox's beside the output: made anew, never through a link
    };
    /// `path` "-" is standard output. Throws std::runtime_error if it cannot be opened.
    OutputSink(const std::string& path, Open how, std::uint64_t keepBytes = 0);
    ~OutputSink();
    OutputSink(const OutputSink&) = delete;
    OutputSink& operator=(const OutputSink&) = delete;

    void append(const std::string& line);

    /// Complete lines this sink has written to the file (whatever a failed write left after them).
    std::uint64_t linesWritten() const noexcept { return linesWritten_; }

    /// Writes what is pending. Throws std::runtime_error (a full disk, a closed pipe...).
    void flush();

private:
    int fd_ = -1;
    std::string path_;
    std::string pending_;
    std::uint64_t linesWritten_ = 0;
};

/// The output a --retry-failed pass replaces: its lines come in input order, each with its
/// input line number.
class PreviousOutput {
public:
    struct Line {
        std::uint64_t number = 0;
        bool ok = false;
        std::string text;
    };

    /// Throws std::runtime_error if it cannot be read.
    explicit PreviousOutput(const std::string& path);

    /// Its line for input line `n`, if it has one. Throws if its lines are out of order.
    std::optional<Line> take(std::uint64_t n);

    bool exhausted() const { return !next_; }

    /// The input lines its failed lines are for, in order (read ahead of the pass, which
    /// keeps the send journal's entries of those lines only).
    static std::vector<std::uint64_t> failedLines(const std::string& path);

private:
    void advance();

    std::string path_;
    std::ifstream in_;
    std::optional<Line> next_;
    std::uint64_t linesRead_ = 0;
};

} // namespace wix::inbox::cli
