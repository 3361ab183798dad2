// SPDX-License-Identifier: BSL-1.0
// Emulator::waitFor: a thread waits until the statistics reach a state, woken each time
// they change, so a test waits for what the emulator did rather than for a time. While
// nobody waits, a change costs an atomic increment and load.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace wix::inbox::emulator {

class StatsWatch {
public:
    /// After a counter changed: wakes the waiters, if any. Thread-safe; called with any
    /// lock held (the waiters read the statistics with none of theirs).
    void changed()
    {
        ++generation_; // after the counter: a waiter that reads this generation sees the change
        if (waiters_.load() == 0)
            return;
        std::lock_guard lock(mutex_);
        wake_.notify_all();
    }

    /// True once `reached()` (which reads the statistics) is, false if `deadline` comes first.
    template <class Reached>
    bool waitFor(Reached reached, std::chrono::steady_clock::time_point deadline)
    {
        ++waiters_; // before the first read: a change after it either sees a waiter or is read
        const struct Leave {
            std::atomic<int>& waiters;
            ~Leave() { --waiters; } // also when `reached` throws
        } leave{waiters_};
        for (;;) {
            const auto seen = generation_.load();
            if (reached())
                return true;
            std::unique_lock lock(mutex_);
            if (!wake_.wait_until(lock, deadline, [&] { return generation_.load() != seen; })) {
                lock.unlock();
                return reached();
            }
        }
    }

private:
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<int> waiters_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
};

} // namespace wix::inbox::emulator
