// SPDX-License-Identifier: BSL-1.0
// The connection pool's decisions, without sockets or timers: who gets which connection,
// when to open or close one. Connections and waiting callers are named by IDs; pool.cpp
// carries the decisions out, and the unit tests drive this class with a fake clock.
//
// Rules:
// - Idle connections are reused most-recently-used first, so surplus ones age and expire.
// - Callers that find no idle connection queue in strict FIFO order; a released or newly
//   opened connection goes straight to the oldest waiter, never to a newcomer.
// - Connections are opened only for waiters not already covered by one being opened,
//   and never beyond maxConnections (open + opening).
// - A "fresh" waiter (re-sending after a stale connection) is served only by a newly
//   opened connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace wix::inbox::detail {

using ConnectionId = std::uint64_t;
using WaiterId = std::uint64_t;

class PoolState {
public:
    using Clock = std::chrono::steady_clock;
    using TimePoint = Clock::time_point;
    using Duration = std::chrono::milliseconds;

    struct Limits {
        std::size_t maxConnections = 16;
        Duration idleTimeout{0};  ///< 0: never
        Duration maxLifetime{0};  ///< 0: unlimited
        std::uint64_t maxRequests = 0; ///< 0: unlimited
    };

    explicit PoolState(Limits limits) : limits_(limits) {}

    /// A caller wants a connection. Returns an idle one at once, or queues the caller as
    /// `waiter` when `mayWait` (otherwise leaves no trace). Expired idle connections met on
    /// the way are appended to `toClose`.
    std::optional<ConnectionId> acquire(WaiterId waiter, bool fresh, bool mayWait, TimePoint now,
                                        std::vector<ConnectionId>& toClose);

    /// How many connections to start opening now; counts them as opening.
    std::size_t connectsToStart();

    /// Counts opening connections for prewarming (within maxConnections).
    std::size_t prewarm(std::size_t count);

    /// A connection finished its request. Returns the waiter it is handed to, if any.
    /// A connection that cannot be reused is appended to `toClose`.
    std::optional<WaiterId> release(ConnectionId c, bool reusable, TimePoint now,
                                    std::vector<ConnectionId>& toClose);

    /// A connection finished opening. Returns the waiter it is handed to, if any.
    std::optional<WaiterId> connected(ConnectionId c, TimePoint now);

    /// Opening a connection failed. Returns the waiter that should get the error: the
    /// oldest one, if no other opening connection is left to serve it.
    std::optional<WaiterId> connectFailed();

    /// The waiter gave up (timeout, cancellation). False if it was no longer waiting.
    bool removeWaiter(WaiterId w);

    /// Shortens one connection's idle limit (a server's `Keep-Alive: timeout=`).
    void limitIdle(ConnectionId c, Duration limit);

    /// Idle connections past their idle limit or lifetime.
    std::vector<ConnectionId> expire(TimePoint now);
    /// When the next idle connection expires, if any is idle.
    std::optional<TimePoint> nextExpiry() const;

    struct Drained {
        std::vector<ConnectionId> idle;
        std::vector<WaiterId> waiters;
    };
    /// Empties the pool of idle connections and waiters; busy connections are closed when
    /// released (callers stop reusing after shutdown).
    Drained drain();

    std::size_t open() const { return nodes_.size(); }
    std::size_t idle() const { return idle_.size(); }
    std::size_t inUse() const { return nodes_.size() - idle_.size(); }
    std::size_t connecting() const { return connecting_; }
    std::size_t waiters() const { return waiters_.size(); }

private:
    struct Node {
        TimePoint created;
        TimePoint idleSince;
        Duration idleLimit;
        std::uint64_t requests = 0;
    };
    struct Waiter {
        WaiterId id;
        bool fresh;
    };

    bool expired(const Node& n, TimePoint now) const;
    std::optional<WaiterId> handOverOrIdle(ConnectionId c, Node& n, bool isNew, TimePoint now,
                                           std::vector<ConnectionId>& toClose);
    void close(ConnectionId c, std::vector<ConnectionId>& toClose);

    Limits limits_;
    std::unordered_map<ConnectionId, Node> nodes_;
    std::vector<ConnectionId> idle_; // back: most recently used
    std::deque<Waiter> waiters_;
    std::size_t connecting_ = 0;
    bool idleLimited_ = false; // limitIdle() was called: some connection may expire
};

} // namespace wix::inbox::detail
