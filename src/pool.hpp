// SPDX-License-Identifier: BSL-1.0
// The shared connection pool: carries out PoolState's decisions with real connections,
// timers and waiting coroutines. Thread-safe: one mutex guards the state, and no I/O
// is done while it is held.
#pragma once

#include "pool_state.hpp"
#include "transport.hpp"

#include <wix/inbox/observer.hpp>
#include <wix/inbox/pool.hpp>

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <mutex>
#include <unordered_map>

namespace wix::inbox::detail {

class ConnectionPool;

/// A borrowed connection. Give it back with release(); if it is dropped instead (error,
/// exception, cancellation), the connection is closed, never reused half-read.
class Lease {
public:
    Lease(std::shared_ptr<ConnectionPool> pool, ConnectionId id, Connection* c)
        : pool_(std::move(pool)), id_(id), connection_(c) {}
    Lease(Lease&& o) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    Connection& connection() const noexcept { return *connection_; }
    bool reused() const noexcept { return connection_->exchanges > 0; }
    /// Gives it back after an exchange that ended at `now`.
    void release(bool reusable, std::optional<std::chrono::seconds> keepAliveHint, Clock::time_point now);
    /// Gives it back to be closed, saying why (for the observer).
    void discard(ConnectionEvent::Reason why);

private:
    std::shared_ptr<ConnectionPool> pool_;
    ConnectionId id_;
    Connection* connection_;
};

class ConnectionPool : public std::enable_shared_from_this<ConnectionPool> {
public:
    /// `observer` (may be null) is told of connections opened and closed.
    ConnectionPool(boost::asio::any_io_executor executor, std::shared_ptr<Transport> transport,
                   const PoolOptions& options, std::shared_ptr<Observer> observer);

    /// Opens PoolOptions::prewarmConnections in the background.
    void prewarm(std::size_t count);

    /// The waiting path, for a call tryAcquire() left without a connection or that needs a
    /// fresh one. Fills `lease` with a connection; or leaves it empty, and `failure` says why:
    /// Errc::timeout (deadline), Errc::poolAcquireTimeout, Errc::cancelled,
    /// Errc::clientShutdown or the error of a failed connect. (Both are the caller's: the
    /// thousands of calls that can wait here keep no result of their own in their frames.)
    /// `fresh`: only a newly opened connection will do. Supports terminal cancellation.
    boost::asio::awaitable<void> acquire(Clock::time_point deadline, bool fresh, std::optional<Lease>& lease,
                                         std::unique_ptr<Error>& failure);
    /// The fast path, without a coroutine: an idle connection when one is free and nobody
    /// is queued; none otherwise, with `failure` set only if the client is shut down. `now`:
    /// the time, read by the caller just before.
    std::optional<Lease> tryAcquire(std::unique_ptr<Error>& failure, Clock::time_point now);

    /// Fails all waiters, closes idle connections and stops the idle timer; busy
    /// connections are aborted, or with `abortBusy` false finish their exchange and close
    /// when released. Either way nothing of the pool keeps its executor busy afterwards.
    void shutdown(bool abortBusy = true);

    void noteStaleRetry() noexcept;
    PoolStats stats() const;

    struct Waiter;
    class Closing;

private:
    friend class Lease;
    using Handler = void(boost::system::error_code, ConnectionId);

    void release(ConnectionId id, bool reusable, std::optional<std::chrono::seconds> keepAliveHint,
                 Clock::time_point now, ConnectionEvent::Reason whyNot = ConnectionEvent::Reason::notReusable);
    static bool worthUsing(const Lease& lease, Clock::time_point now);
    /// Opens `count` connections, each bounded by the connect timeout and by `deadline`.
    void startConnects(std::size_t count, Clock::time_point deadline = Clock::time_point::max());
    boost::asio::awaitable<void> openConnection(Clock::time_point deadline);
    void handOver(WaiterId w, ConnectionId c);
    void fail(WaiterId w, Error e);
    void armSweep();
    void takeForClosing(const std::vector<ConnectionId>& ids, Closing& out, ConnectionEvent::Reason why);
    ConnectionEvent connectionEvent(ConnectionEvent::Kind kind) const;
    template <class Token>
    auto waitForConnection(const std::shared_ptr<Waiter>& w, Token&& token);
    template <class CompletionHandler>
    void startWaiting(std::shared_ptr<Waiter> w, CompletionHandler handler);

    boost::asio::any_io_executor executor_;
    std::shared_ptr<Transport> transport_;
    PoolOptions options_;
    std::shared_ptr<Observer> observer_;
    std::uint16_t port_;

    mutable std::mutex mutex_;
    PoolState state_;
    std::unordered_map<ConnectionId, std::unique_ptr<Connection>> connections_;
    std::unordered_map<WaiterId, std::shared_ptr<Waiter>> waiters_;
    boost::asio::steady_timer sweepTimer_;
    bool sweepArmed_ = false;
    bool shutdown_ = false;
    ConnectionId nextConnectionId_ = 1;
    WaiterId nextWaiterId_ = 1;
    PoolStats counters_;
};

} // namespace wix::inbox::detail
