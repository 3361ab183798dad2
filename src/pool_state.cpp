// SPDX-License-Identifier: BSL-1.0
#include "pool_state.hpp"

#include <algorithm>

namespace wix::inbox::detail {

bool PoolState::expired(const Node& n, TimePoint now) const
{
    const bool idleTooLong = n.idleLimit.count() > 0 && now - n.idleSince >= n.idleLimit;
    const bool tooOld = limits_.maxLifetime.count() > 0 && now - n.created >= limits_.maxLifetime;
    return idleTooLong || tooOld;
}

void PoolState::close(ConnectionId c, std::vector<ConnectionId>& toClose)
{
    nodes_.erase(c);
    toClose.push_back(c);
}

std::optional<ConnectionId> PoolState::acquire(WaiterId waiter, bool fresh, bool mayWait, TimePoint now,
                                               std::vector<ConnectionId>& toClose)
{
    if (!fresh && waiters_.empty()) {
        while (!idle_.empty()) {
            const ConnectionId c = idle_.back();
            idle_.pop_back();
            if (expired(nodes_.at(c), now)) {
                close(c, toClose);
                continue;
            }
            return c;
        }
    }
    if (!mayWait)
        return std::nullopt;
    if (fresh && nodes_.size() + connecting_ >= limits_.maxConnections && !idle_.empty()) {
        // Make room for the new connection by dropping the least recently used idle one.
        close(idle_.front(), toClose);
        idle_.erase(idle_.begin());
    }
    waiters_.push_back({waiter, fresh});
    return std::nullopt;
}

std::size_t PoolState::connectsToStart()
{
    std::size_t started = 0;
    while (nodes_.size() + connecting_ < limits_.maxConnections && connecting_ < waiters_.size()) {
        ++connecting_;
        ++started;
    }
    return started;
}

std::size_t PoolState::prewarm(std::size_t count)
{
    const std::size_t room = limits_.maxConnections - std::min(limits_.maxConnections, nodes_.size() + connecting_);
    const std::size_t started = std::min(count, room);
    connecting_ += started;
    return started;
}

std::optional<WaiterId> PoolState::handOverOrIdle(ConnectionId c, Node& n, bool isNew, TimePoint now,
                                                  std::vector<ConnectionId>& toClose)
{
    if (!waiters_.empty()) {
        if (waiters_.front().fresh && !isNew) {
            // The oldest waiter needs a new connection: free this one's place for it.
            close(c, toClose);
            return std::nullopt;
        }
        const WaiterId w = waiters_.front().id;
        waiters_.pop_front();
        return w;
    }
    n.idleSince = now;
    idle_.push_back(c);
    return std::nullopt;
}

std::optional<WaiterId> PoolState::release(ConnectionId c, bool reusable, TimePoint now,
                                           std::vector<ConnectionId>& toClose)
{
    auto it = nodes_.find(c);
    if (it == nodes_.end())
        return std::nullopt;
    Node& n = it->second;
    ++n.requests;
    const bool worn = limits_.maxRequests > 0 && n.requests >= limits_.maxRequests;
    const bool tooOld = limits_.maxLifetime.count() > 0 && now - n.created >= limits_.maxLifetime;
    if (!reusable || worn || tooOld) {
        close(c, toClose);
        return std::nullopt;
    }
    return handOverOrIdle(c, n, false, now, toClose);
}

std::optional<WaiterId> PoolState::connected(ConnectionId c, TimePoint now)
{
    if (connecting_ > 0)
        --connecting_;
    Node& n = nodes_[c];
    n.created = now;
    n.idleSince = now;
    n.idleLimit = limits_.idleTimeout;
    std::vector<ConnectionId> unused;
    return handOverOrIdle(c, n, true, now, unused);
}

std::optional<WaiterId> PoolState::connectFailed()
{
    if (connecting_ > 0)
        --connecting_;
    if (waiters_.size() <= connecting_)
        return std::nullopt;
    const WaiterId w = waiters_.front().id;
    waiters_.pop_front();
    return w;
}

bool PoolState::removeWaiter(WaiterId w)
{
    const auto it = std::find_if(waiters_.begin(), waiters_.end(), [w](const Waiter& x) { return x.id == w; });
    if (it == waiters_.end())
        return false;
    waiters_.erase(it);
    return true;
}

void PoolState::limitIdle(ConnectionId c, Duration limit)
{
    auto it = nodes_.find(c);
    if (it == nodes_.end())
        return;
    idleLimited_ = true;
    Duration& current = it->second.idleLimit;
    if (current.count() == 0 || limit < current)
        current = limit;
}

std::vector<ConnectionId> PoolState::expire(TimePoint now)
{
    std::vector<ConnectionId> closed;
    std::erase_if(idle_, [&](ConnectionId c) {
        if (!expired(nodes_.at(c), now))
            return false;
        close(c, closed);
        return true;
    });
    return closed;
}

std::optional<PoolState::TimePoint> PoolState::nextExpiry() const
{
    // Called on every release while no sweep is armed: without limits, skip the scan.
    if (limits_.idleTimeout.count() == 0 && limits_.maxLifetime.count() == 0 && !idleLimited_)
        return std::nullopt;
    std::optional<TimePoint> next;
    for (const ConnectionId c : idle_) {
        const Node& n = nodes_.at(c);
        std::optional<TimePoint> at;
        if (n.idleLimit.count() > 0)
            at = n.idleSince + n.idleLimit;
        if (limits_.maxLifetime.count() > 0) {
            const TimePoint old = n.created + limits_.maxLifetime;
            at = at ? std::min(*at, old) : old;
        }
        if (at && (!next || *at < *next))
            next = at;
    }
    return next;
}

PoolState::Drained PoolState::drain()
{
    Drained d;
    for (const ConnectionId c : idle_)
        nodes_.erase(c);
    d.idle = std::move(idle_);
    idle_.clear();
    for (const Waiter& w : waiters_)
        d.waiters.push_back(w.id);
    waiters_.clear();
    return d;
}

} // namespace wix::inbox::detail
