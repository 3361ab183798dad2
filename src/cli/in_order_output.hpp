// SPDX-License-Identifier: BSL-1.0
// The batch's output in input order: lines finish in any order and are written in the order
// of their input lines (a finished line waits until all before it are out); a line of another
// shard is settled in its turn, writing nothing.
#pragma once

#include "batch_output.hpp"
#include "job_state.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace wix::inbox::cli {

class InOrderOutput {
public:
    /// Writes to `sink`, from input line 1 on until startAfter().
    explicit InOrderOutput(OutputSink& sink) : sink_(sink) {}

    /// Continues after input line `settled` (an earlier run's), `fingerprint` being the
    /// input's up to it.
    void startAfter(std::uint64_t settled, std::uint64_t fingerprint);

    /// Input line `n` is done: its output line `text`, written only if `write`; whether it
    /// succeeded; the input's fingerprint up to it.
    void complete(std::uint64_t n, std::string text, bool ok, std::uint64_t fingerprint, bool write = true);

    /// The next input line to settle: all before it are out (or were another shard's).
    std::uint64_t next() const noexcept { return next_; }
    /// The input line of the last line written, and the input's fingerprint up to it.
    std::uint64_t lastWritten() const noexcept { return lastWritten_; }
    std::uint64_t fingerprint() const noexcept { return fingerprint_; }
    /// Lines written by this run, succeeded and failed.
    std::uint64_t ok() const noexcept { return ok_; }
    std::uint64_t failed() const noexcept { return failed_; }

private:
    struct Done {
        std::string text;
        std::uint64_t fingerprint; // of the input up to this line
        bool ok;
        bool write; // false: a line of another shard
    };

    OutputSink& sink_;
    std::map<std::uint64_t, Done> waiting_; // done, behind an earlier line still in flight
    std::uint64_t next_ = 1;
    std::uint64_t lastWritten_ = 0;
    std::uint64_t fingerprint_ = Fingerprint().value();
    std::uint64_t ok_ = 0, failed_ = 0;
};

} // namespace wix::inbox::cli
