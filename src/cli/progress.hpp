// SPDX-License-Identifier: BSL-1.0
// The batch's progress: on a terminal one line, never wider than the terminal, redrawn in
// place (a wrapped line would add a line at every refresh); elsewhere (a log collected by a
// job runner) a JSON object per line, for machines.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace wix::inbox::cli {

struct ProgressView {
    std::uint64_t done = 0;                ///< lines written or being written, resumed ones included
    std::optional<std::uint64_t> total;    ///< lines in the input, when known
    double callsPerSecond = 0;
    std::uint64_t failed = 0;
    std::uint64_t retries = 0;
    std::uint64_t throttled = 0;
    double elapsedSeconds = 0;
};

/// "42s", "4m05s", "2h03m".
std::string formatDuration(double seconds);

/// The progress line, at most `columns - 1` characters (a bar only where there is room),
/// without the carriage return and erase sequence that draw it.
std::string renderProgress(const ProgressView& view, unsigned columns);

/// {"progress":{"done":N,"total":N|null,"failed":N,"retries":N,"throttled":N,
/// "callsPerSecond":x,"elapsedSeconds":x}}, without a newline.
std::string progressJson(const ProgressView& view);

/// Draws the progress line on standard error (a terminal), as wide as the terminal.
void drawProgress(const ProgressView& view);
/// Erases it, before the summary.
void clearProgress();

/// Where and how often a batch shows its progress: on a terminal, the line at every tick;
/// elsewhere a JSON line per interval; nothing when quiet.
class ProgressReport {
public:
    using Clock = std::chrono::steady_clock;

    /// `jsonInterval` 0: no JSON lines. `total`: the input's lines, when known.
    ProgressReport(bool quiet, std::chrono::milliseconds jsonInterval, std::optional<std::uint64_t> total,
                   Clock::time_point start);

    /// How often the batch ticks: a quarter second, or the JSON interval where shorter.
    std::chrono::milliseconds tick() const;
    /// Whether a tick at `now` shows anything: then show() must follow.
    bool due(Clock::time_point now) const;
    /// Shows `view` (its done, failed, retries and throttled; `calls` made so far give the
    /// rate) where due.
    void show(ProgressView view, std::uint64_t calls, Clock::time_point now);
    /// Erases the terminal's line, before the summary.
    void finish();

private:
    bool terminal_;   // the line on a terminal
    bool json_;       // JSON lines elsewhere
    std::chrono::milliseconds jsonInterval_;
    std::optional<std::uint64_t> total_;
    Clock::time_point start_;
    Clock::time_point nextJson_;
};

} // namespace wix::inbox::cli
