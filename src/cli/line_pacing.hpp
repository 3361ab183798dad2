// SPDX-License-Identifier: BSL-1.0
// The batch's scheduling decisions, without I/O: which failures a line outlives, how long it
// pauses before its next call, how many calls stay in flight while the service fails, and
// when the job gives up. The engine (batch.cpp) drives it with the time; tests with their own.
#pragma once

#include "commands.hpp"

#include <wix/inbox/error.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace wix::inbox::cli {

/// Whether a line whose call failed with `e` is called again (within its --line-timeout).
/// The client retried what it could within one call; a line has more time:
/// - no pooled connection in time (the job's own overload), and a throttling answer (429: the
///   service refused the request, so even a send may go again), always;
/// - a transient failure or an unknown outcome, for operations safe to repeat or whose lines
///   reconcile before calling again (sends);
/// - a send to a participant whose conversation was merged away meanwhile (404
///   CONVERSATION_NOT_FOUND): the next call resolves the participant again.
bool worthAnotherCall(const Command& operation, const BatchRequest& request, const Error& e);

class LinePacing {
public:
    using Clock = std::chrono::steady_clock;

    LinePacing(std::size_t concurrency, std::chrono::milliseconds giveUpAfter, Clock::time_point start);

    /// Calls allowed in flight now: the concurrency, halved while nearly all calls fail (down
    /// to one, which then probes alone), growing back by one per that many successes.
    std::size_t allowed() const noexcept { return static_cast<std::size_t>(allowed_); }
    /// Down to one call in flight: lines waiting to be called again go before new ones.
    bool probing() const noexcept { return allowed_ < 2; }

    /// The service answered (a success, or an answer that settles the line).
    void onAnswer(bool succeeded, Clock::time_point now);
    /// A failure worth another call. Returns why the job stops instead when nothing has
    /// been answered for --give-up-after.
    std::optional<std::string> onTransientFailure(Clock::time_point callStarted, Clock::time_point now);

    /// The pause before a line's call number `round` + 2, jittered into its upper half by
    /// `uniform01` (in [0, 1)): while nearly all calls fail, 1 s doubling to 16 s (the service
    /// needs air); otherwise 250 ms doubling to 1 s (others get through, and a line held back
    /// holds back the output after it).
    std::chrono::milliseconds pauseBefore(int round, double uniform01) const;

private:
    static constexpr double shareWeight = 1.0 / 16; // of a call's outcome in failureShare_
    static constexpr double failingShare = 0.8;     // the service is failing: four calls in five fail
    bool failing() const noexcept { return failureShare_ >= failingShare; }

    std::size_t concurrency_;
    std::chrono::milliseconds giveUpAfter_;
    double allowed_;
    double failureShare_ = 0; // of recent calls, transient failures
    Clock::time_point lastCut_{};
    Clock::time_point lastAnswer_;
};

} // namespace wix::inbox::cli
