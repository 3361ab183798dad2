// SPDX-License-Identifier: BSL-1.0
// When a batch line may start, and its pauses between calls: the I/O side of LinePacing (the
// decisions, cli/line_pacing.hpp). It keeps the calls in flight under the limit the pacing
// allows, the reorder window bounded (the lines done but waiting for an earlier one), and
// wakes the reader of the input whenever that may have changed. Used from the batch's thread.
#pragma once

#include "line_pacing.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>

namespace wix::inbox::cli {

class LineScheduler {
public:
    using Clock = std::chrono::steady_clock;

    /// The reorder window is four times the concurrency, at least 1024 lines.
    LineScheduler(boost::asio::io_context& ioc, std::size_t concurrency, std::chrono::milliseconds giveUpAfter,
                  Clock::time_point start);

    LinePacing& pacing() noexcept { return pacing_; }

    /// A new line may start: a call may go, the reorder window has room (`nextRead` is the
    /// next input line, `nextWrite` the next to write), and the job is not probing a service
    /// that fails (down to one call in flight, with lines waiting to be called again).
    bool roomForALine(std::uint64_t nextRead, std::uint64_t nextWrite) const;

    /// Waits until wake().
    boost::asio::awaitable<void> wait();
    /// Something changed: a line or a call ended, the job stops.
    void wake();

    void lineStarted() noexcept { ++lines_; }
    void lineEnded();
    /// Lines started and not ended.
    std::size_t lines() const noexcept { return lines_; }

    void callStarted() noexcept { ++calls_; }
    void callEnded();

    /// The jittered pause before a line's call number `round` + 2, cut to `lineDeadline`.
    /// False if it was cancelled.
    boost::asio::awaitable<bool> pause(int round, Clock::time_point lineDeadline);

private:
    boost::asio::io_context& ioc_;
    LinePacing pacing_;
    std::size_t window_;
    boost::asio::steady_timer wake_;
    std::size_t lines_ = 0;   // lines started and not ended
    std::size_t calls_ = 0;   // calls on their way
    std::size_t pausing_ = 0; // lines waiting to be called again
    std::mt19937 random_{std::random_device{}()};
};

} // namespace wix::inbox::cli
