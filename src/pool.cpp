// SPDX-License-Identifier: BSL-1.0
#include "pool.hpp"

#include "observe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace wix::inbox::detail {
namespace net = boost::asio;
using boost::system::error_code;

// A suspended acquire, type-erased: Asio 1.81's any_completion_handler cannot be posted.
struct Resumer {
    virtual ~Resumer() = default;
    virtual void resume(error_code ec, ConnectionId c) = 0;
};

template <class Handler>
struct HandlerResumer final : Resumer {
    explicit HandlerResumer(Handler h) : handler(std::move(h)) {}
    void resume(error_code ec, ConnectionId c) override { std::move(handler)(ec, c); }
    Handler handler;
};

struct ConnectionPool::Waiter {
    explicit Waiter(const net::any_io_executor& ex) : timer(ex) {}

    WaiterId id = 0;
    bool fresh = false;
    bool done = false;            // completed or abandoned; guarded by the pool's mutex
    bool limitedByAcquireTimeout = false;
    Clock::time_point waitUntil;
    net::steady_timer timer;
    net::any_io_executor resumeOn; // the waiting coroutine's executor
    std::unique_ptr<Resumer> resumer;
    std::unique_ptr<Error> failure; // why, when completed with an error (rare: kept off the waiter)
};

using Reason = ConnectionEvent::Reason;

// Connections taken out of the pool under its mutex, closed and reported when this goes out
// of scope: each is declared before the lock, so that happens after the mutex is released.
class ConnectionPool::Closing {
public:
    explicit Closing(const ConnectionPool& pool) : pool_(pool) {}
    Closing(const Closing&) = delete;
    Closing& operator=(const Closing&) = delete;
    ~Closing()
    {
        for (auto& [connection, why] : connections_) {
            connection.reset();
            if (pool_.observer_) {
                auto event = pool_.connectionEvent(ConnectionEvent::Kind::closed);
                event.reason = why;
                notify(*pool_.observer_, &Observer::onConnection, event);
            }
        }
    }
    void add(std::unique_ptr<Connection> connection, Reason why) { connections_.emplace_back(std::move(connection), why); }

private:
    const ConnectionPool& pool_;
    std::vector<std::pair<std::unique_ptr<Connection>, Reason>> connections_;
};

Lease::Lease(Lease&& o) noexcept : pool_(std::move(o.pool_)), id_(o.id_), connection_(o.connection_) {}

Lease::~Lease()
{
    if (!pool_)
        return;
    try {
        pool_->release(id_, false, std::nullopt, Clock::now());
    } catch (...) {
        // Only allocation can fail in release(); the connection then stays counted as busy.
    }
}

void Lease::release(bool reusable, std::optional<std::chrono::seconds> keepAliveHint, Clock::time_point now)
{
    if (auto pool = std::move(pool_))
        pool->release(id_, reusable, keepAliveHint, now);
}

void Lease::discard(Reason why)
{
    if (auto pool = std::move(pool_))
        pool->release(id_, false, std::nullopt, Clock::now(), why);
}

ConnectionPool::ConnectionPool(net::any_io_executor executor, std::shared_ptr<Transport> transport,
                               const PoolOptions& options, std::shared_ptr<Observer> observer)
    : executor_(std::move(executor))
    , transport_(std::move(transport))
    , options_(options)
    , observer_(std::move(observer))
    , port_(static_cast<std::uint16_t>(std::stoul(transport_->origin().port)))
    , state_(PoolState::Limits{options.maxConnections, options.idleTimeout, options.maxLifetime,
                               options.maxRequestsPerConnection})
    , sweepTimer_(executor_)
{
}

void ConnectionPool::prewarm(std::size_t count)
{
    std::size_t started = 0;
    {
        std::lock_guard lock(mutex_);
        started = state_.prewarm(count);
    }
    startConnects(started);
}

void ConnectionPool::startConnects(std::size_t count, Clock::time_point deadline)
{
    if (count == 0)
        return;
    const auto limit = std::min(deadline, Clock::now() + options_.connectTimeout);
    // openConnection turns a failed connect into an Error; anything else it throws (memory
    // exhausted while recording a connection) leaves io_context::run() in the caller's
    // thread, as Asio does with a handler's exception, instead of vanishing.
    for (std::size_t i = 0; i < count; ++i)
        net::co_spawn(net::make_strand(executor_), openConnection(limit), [](const std::exception_ptr& e) {
            if (e)
                std::rethrow_exception(e);
        });
}

ConnectionEvent ConnectionPool::connectionEvent(ConnectionEvent::Kind kind) const
{
    ConnectionEvent event;
    event.kind = kind;
    event.serverAddress = transport_->origin().host;
    event.serverPort = port_;
    return event;
}

void ConnectionPool::takeForClosing(const std::vector<ConnectionId>& ids, Closing& out, Reason why)
{
    for (const ConnectionId id : ids) {
        auto it = connections_.find(id);
        if (it == connections_.end())
            continue;
        out.add(std::move(it->second), why);
        connections_.erase(it);
        ++counters_.connectionsClosed;
    }
}

// Completes a waiter on its own executor; called with the mutex held.
void ConnectionPool::handOver(WaiterId id, ConnectionId c)
{
    auto it = waiters_.find(id);
    if (it == waiters_.end())
        return;
    auto w = std::move(it->second);
    waiters_.erase(it);
    w->done = true;
    w->timer.cancel();
    // Resume the waiter on its own executor, never inline under the mutex. Its cancellation
    // slot is left alone (it belongs to the waiter's executor); a late cancellation finds
    // the waiter done and does nothing.
    const error_code ec = w->failure ? w->failure->code : error_code{};
    net::post(w->resumeOn, [resumer = std::move(w->resumer), ec, c] { resumer->resume(ec, c); });
}

void ConnectionPool::fail(WaiterId id, Error e)
{
    auto it = waiters_.find(id);
    if (it == waiters_.end())
        return;
    it->second->failure = std::make_unique<Error>(std::move(e));
    handOver(id, 0);
}

// Queues `w` (or serves it at once) and arranges for `handler` to be called exactly once.
// Once the handler is handed over, another thread may resume the waiting coroutine and
// free the frame that holds the initiation's captures: from then on this function uses
// only its own parameters and locals (`w` is a copy on purpose: a reference would point
// into that frame), and keeps the pool alive itself.
template <class CompletionHandler>
void ConnectionPool::startWaiting(std::shared_ptr<Waiter> w, // NOLINT(performance-unnecessary-value-param)
                                  CompletionHandler handler)
{
    const auto self = shared_from_this();
    const auto limit = w->waitUntil;
    Closing closing(*this);
    std::size_t connects = 0;
    {
        std::lock_guard lock(mutex_);
        w->id = nextWaiterId_++;
        auto slot = net::get_associated_cancellation_slot(handler);
        w->resumeOn = net::get_associated_executor(handler, executor_);
        w->resumer = std::make_unique<HandlerResumer<CompletionHandler>>(std::move(handler));
        waiters_[w->id] = w;
        if (shutdown_) {
            fail(w->id, makeError(Errc::clientShutdown, "client closed or destroyed"));
            return;
        }
        std::vector<ConnectionId> toClose;
        const auto got = state_.acquire(w->id, w->fresh, true, Clock::now(), toClose);
        takeForClosing(toClose, closing, Reason::expired);
        if (got) {
            handOver(w->id, *got);
            return;
        }
        w->timer.expires_at(limit);
        w->timer.async_wait([self, w](error_code ec) {
            if (ec)
                return;
            std::lock_guard lock(self->mutex_);
            if (w->done || !self->state_.removeWaiter(w->id))
                return;
            ++self->counters_.acquireTimeouts;
            self->fail(w->id, w->limitedByAcquireTimeout
                                  ? makeError(Errc::poolAcquireTimeout, "no pooled connection became free in time")
                                  : makeError(Errc::timeout, "deadline expired waiting for a pooled connection"));
        });
        if (slot.is_connected()) {
            slot.assign([self, w](net::cancellation_type) {
                std::lock_guard lock(self->mutex_);
                if (w->done || !self->state_.removeWaiter(w->id))
                    return;
                self->fail(w->id, makeError(Errc::cancelled, "cancelled while waiting for a connection"));
            });
        }
        connects = state_.connectsToStart();
    }
    startConnects(connects, limit);
}

template <class Token>
auto ConnectionPool::waitForConnection(const std::shared_ptr<Waiter>& w, Token&& token)
{
    // The pool and waiter are passed as arguments, not captured: the initiation gets them
    // as copies of its own, which outlive the frame that async_initiate keeps them in.
    return net::async_initiate<Token, Handler>(
        [](auto handler, ConnectionPool* pool, std::shared_ptr<Waiter> waiter) {
            pool->startWaiting(std::move(waiter), std::move(handler));
        },
        token, this, w);
}

std::optional<Lease> ConnectionPool::tryAcquire(std::unique_ptr<Error>& failure, Clock::time_point now)
{
    for (;;) {
        std::optional<ConnectionId> got;
        Connection* c = nullptr;
        Closing closing(*this);
        {
            std::lock_guard lock(mutex_);
            if (shutdown_) {
                failure = std::make_unique<Error>(makeError(Errc::clientShutdown, "client closed or destroyed"));
                return std::nullopt;
            }
            std::vector<ConnectionId> toClose;
            got = state_.acquire(0, false, false, now, toClose);
            takeForClosing(toClose, closing, Reason::expired);
            if (!got)
                return std::nullopt;
            c = connections_.at(*got).get();
        }
        Lease lease(shared_from_this(), *got, c);
        if (worthUsing(lease, now))
            return lease;
        lease.discard(Reason::serverClosed);
    }
}

// A connection idle for a while may have been closed by the server: one syscall tells. One
// used within the last second is not worth the syscall on every call; if it was closed
// after all, the request is re-sent on a fresh connection.
bool ConnectionPool::worthUsing(const Lease& lease, Clock::time_point now)
{
    Connection& c = lease.connection();
    return !lease.reused() || now - c.lastUsed <= std::chrono::seconds(1) || c.looksAlive();
}

net::awaitable<void> ConnectionPool::acquire(Clock::time_point deadline, bool fresh, std::optional<Lease>& lease,
                                             std::unique_ptr<Error>& failure)
{
    for (;;) {
        // startWaiting() serves an idle connection at once, if one came back meanwhile.
        auto w = std::make_shared<Waiter>(executor_);
        w->fresh = fresh;
        const auto now = Clock::now();
        w->waitUntil = deadline;
        if (options_.acquireTimeout.count() > 0 && now + options_.acquireTimeout < deadline) {
            w->waitUntil = now + options_.acquireTimeout;
            w->limitedByAcquireTimeout = true;
        }
        auto [ec, id] = co_await waitForConnection(w, net::as_tuple(net::use_awaitable));
        if (ec) {
            failure = std::move(w->failure);
            co_return;
        }
        Connection* c = nullptr;
        {
            std::lock_guard lock(mutex_);
            c = connections_.at(id).get();
        }
        lease.emplace(shared_from_this(), id, c);
        if (worthUsing(*lease, Clock::now()))
            co_return;
        lease->discard(Reason::serverClosed);
        lease.reset();
    }
}

net::awaitable<void> ConnectionPool::openConnection(Clock::time_point deadline)
{
    auto self = shared_from_this();
    Result<std::unique_ptr<Connection>> opened = makeError(Errc::connectFailed, "no connection");
    const auto started = Clock::now();
    try {
        opened = co_await transport_->connect(deadline);
    } catch (const std::exception& e) { // e.g. OpenSSL could not allocate the connection
        opened = makeError(Errc::connectFailed, std::string("cannot open a connection: ") + e.what());
    }
    std::unique_ptr<Connection> unused; // closed after the lock, as Closing does
    std::optional<ConnectionEvent> report;
    std::size_t more = 0;
    {
        std::lock_guard lock(mutex_);
        if (!opened) {
            ++counters_.connectFailures;
            if (const auto w = state_.connectFailed())
                fail(*w, std::move(opened).error());
        } else if (shutdown_) {
            state_.connectFailed();
            unused = std::move(*opened);
        } else {
            const ConnectionId id = nextConnectionId_++;
            ++counters_.connectionsOpened;
            ++((*opened)->resumedSession() ? counters_.tlsResumed : counters_.tlsFullHandshakes);
            if (observer_) {
                report = connectionEvent(ConnectionEvent::Kind::opened);
                report->tlsResumed = (*opened)->resumedSession();
                report->connectDuration = Clock::now() - started;
            }
            connections_[id] = std::move(*opened);
            if (const auto w = state_.connected(id, Clock::now()))
                handOver(*w, id);
            else
                armSweep();
        }
        more = state_.connectsToStart();
    }
    if (report)
        notify(*observer_, &Observer::onConnection, *report);
    startConnects(more);
}

void ConnectionPool::release(ConnectionId id, bool reusable, std::optional<std::chrono::seconds> keepAliveHint,
                             Clock::time_point now, Reason whyNot)
{
    Closing closing(*this);
    std::size_t connects = 0;
    {
        std::lock_guard lock(mutex_);
        const bool wasReusable = reusable;
        if (shutdown_)
            reusable = false;
        if (reusable && keepAliveHint) {
            // Leave a second's margin before the server's own idle timeout.
            if (*keepAliveHint <= std::chrono::seconds(1))
                reusable = false;
            else
                state_.limitIdle(id, *keepAliveHint - std::chrono::seconds(1));
        }
        if (auto it = connections_.find(id); it != connections_.end())
            it->second->lastUsed = now;
        std::vector<ConnectionId> toClose;
        if (const auto w = state_.release(id, reusable, now, toClose))
            handOver(*w, id);
        // Reusable as the exchange went but closed all the same: the pool's limits, or shutdown.
        takeForClosing(toClose, closing, shutdown_ ? Reason::shutdown : wasReusable ? Reason::expired : whyNot);
        connects = state_.connectsToStart();
        armSweep();
    }
    startConnects(connects);
}

void ConnectionPool::armSweep()
{
    if (sweepArmed_ || shutdown_)
        return;
    const auto next = state_.nextExpiry();
    if (!next)
        return;
    sweepArmed_ = true;
    sweepTimer_.expires_at(*next);
    sweepTimer_.async_wait([self = shared_from_this()](error_code ec) {
        Closing closing(*self);
        std::lock_guard lock(self->mutex_);
        self->sweepArmed_ = false;
        if (ec || self->shutdown_)
            return;
        self->takeForClosing(self->state_.expire(Clock::now()), closing, Reason::expired);
        self->armSweep();
    });
}

void ConnectionPool::shutdown(bool abortBusy)
{
    Closing closing(*this);
    std::lock_guard lock(mutex_);
    if (shutdown_)
        return;
    shutdown_ = true;
    auto drained = state_.drain();
    for (const WaiterId w : drained.waiters)
        fail(w, makeError(Errc::clientShutdown, "client closed or destroyed while waiting for a connection"));
    takeForClosing(drained.idle, closing, Reason::shutdown);
    if (abortBusy)
        for (auto& [id, connection] : connections_)
            connection->abort(); // busy: wake their pending I/O; they are closed on release
    sweepTimer_.cancel();
}

void ConnectionPool::noteStaleRetry() noexcept
{
    std::lock_guard lock(mutex_);
    ++counters_.staleRetries;
}

PoolStats ConnectionPool::stats() const
{
    std::lock_guard lock(mutex_);
    PoolStats s = counters_;
    s.open = state_.open();
    s.idle = state_.idle();
    s.inUse = state_.inUse();
    s.connecting = state_.connecting();
    s.waiters = state_.waiters();
    return s;
}

} // namespace wix::inbox::detail
