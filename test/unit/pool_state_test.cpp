// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE pool_state
#include <boost/test/unit_test.hpp>

#include "pool_state.hpp"

using namespace wix::inbox::detail;
using namespace std::chrono_literals;
using TimePoint = PoolState::TimePoint;

namespace {

const TimePoint t0{};

PoolState::Limits limits(std::size_t max, std::chrono::milliseconds idle = 0ms, std::chrono::milliseconds life = 0ms,
                         std::uint64_t maxRequests = 0)
{
    return {max, idle, life, maxRequests};
}

// Opens connection `c` for the oldest waiter the way the I/O layer does.
std::optional<WaiterId> open(PoolState& s, ConnectionId c, TimePoint now = t0)
{
    return s.connected(c, now);
}

// Opens connection `c` for waiter 1 and gives it back: `c` is then idle.
void openIdle(PoolState& s, ConnectionId c, std::vector<ConnectionId>& closed)
{
    s.acquire(1, false, true, t0, closed);
    s.connectsToStart();
    open(s, c);
    s.release(c, true, t0, closed);
}

} // namespace

BOOST_AUTO_TEST_CASE(opens_only_for_waiters_and_within_the_limit)
{
    PoolState s(limits(2));
    std::vector<ConnectionId> closed;
    for (WaiterId w = 1; w <= 5; ++w)
        BOOST_TEST(!s.acquire(w, false, true, t0, closed).has_value());
    BOOST_TEST(s.waiters() == 5u);
    BOOST_TEST(s.connectsToStart() == 2u); // 5 waiters, but at most 2 connections
    BOOST_TEST(s.connectsToStart() == 0u);
    BOOST_TEST(s.connecting() == 2u);

    PoolState one(limits(8));
    BOOST_TEST(!one.acquire(1, false, true, t0, closed).has_value());
    BOOST_TEST(one.connectsToStart() == 1u); // not more connections than waiters
}

BOOST_AUTO_TEST_CASE(strict_fifo_hand_off)
{
    PoolState s(limits(1));
    std::vector<ConnectionId> closed;
    BOOST_TEST(!s.acquire(1, false, true, t0, closed));
    BOOST_TEST(s.connectsToStart() == 1u);
    BOOST_TEST(!s.acquire(2, false, true, t0, closed));
    BOOST_TEST(!s.acquire(3, false, true, t0, closed));
    BOOST_TEST(*open(s, 100) == 1u);
    // The released connection goes to the oldest waiter, and a newcomer does not jump the queue.
    BOOST_TEST(*s.release(100, true, t0, closed) == 2u);
    BOOST_TEST(!s.acquire(4, false, true, t0, closed));
    BOOST_TEST(*s.release(100, true, t0, closed) == 3u);
    BOOST_TEST(*s.release(100, true, t0, closed) == 4u);
    BOOST_TEST(!s.release(100, true, t0, closed));
    BOOST_TEST(s.idle() == 1u);
    BOOST_TEST(closed.empty());
    // With an idle connection and nobody queued, acquire is immediate.
    BOOST_TEST(*s.acquire(5, false, true, t0, closed) == 100u);
}

BOOST_AUTO_TEST_CASE(most_recently_used_idle_connection_first)
{
    PoolState s(limits(3));
    std::vector<ConnectionId> closed;
    for (WaiterId w = 1; w <= 2; ++w)
        s.acquire(w, false, true, t0, closed);
    s.connectsToStart();
    open(s, 10);
    open(s, 20);
    s.release(10, true, t0, closed);
    s.release(20, true, t0 + 1s, closed);
    BOOST_TEST(*s.acquire(3, false, true, t0 + 2s, closed) == 20u);
}

BOOST_AUTO_TEST_CASE(waiter_timeout_and_cancellation_leave_no_trace)
{
    PoolState s(limits(1));
    std::vector<ConnectionId> closed;
    s.acquire(1, false, true, t0, closed);
    s.connectsToStart();
    s.acquire(2, false, true, t0, closed);
    s.acquire(3, false, true, t0, closed);
    BOOST_TEST(s.removeWaiter(2)); // timed out
    BOOST_TEST(!s.removeWaiter(2));
    BOOST_TEST(s.waiters() == 2u);
    BOOST_TEST(*open(s, 7) == 1u);
    BOOST_TEST(*s.release(7, true, t0, closed) == 3u); // 2 is skipped: it left the queue
    BOOST_TEST(s.removeWaiter(99) == false);
}

BOOST_AUTO_TEST_CASE(failed_connect_fails_only_an_uncovered_waiter)
{
    PoolState s(limits(4));
    std::vector<ConnectionId> closed;
    s.acquire(1, false, true, t0, closed);
    s.acquire(2, false, true, t0, closed);
    BOOST_TEST(s.connectsToStart() == 2u);
    BOOST_TEST(*s.connectFailed() == 1u); // the oldest waiter gets the error
    BOOST_TEST(s.connecting() == 1u);
    BOOST_TEST(*s.connectFailed() == 2u);
    BOOST_TEST(!s.connectFailed());
    BOOST_TEST(s.waiters() == 0u);

    // A prewarm connect failing with nobody waiting fails nobody.
    PoolState p(limits(4));
    BOOST_TEST(p.prewarm(10) == 4u);
    BOOST_TEST(!p.connectFailed());
}

BOOST_AUTO_TEST_CASE(unreusable_worn_and_old_connections_are_closed_on_release)
{
    PoolState s(limits(3, 0ms, 60s, 2));
    std::vector<ConnectionId> closed;
    for (WaiterId w = 1; w <= 3; ++w)
        s.acquire(w, false, true, t0, closed);
    s.connectsToStart();
    open(s, 1);
    open(s, 2);
    open(s, 3);
    s.release(1, false, t0, closed); // e.g. Connection: close, or a half-read response
    BOOST_TEST(closed == std::vector<ConnectionId>{1});
    s.release(2, true, t0 + 61s, closed); // past its lifetime
    BOOST_TEST(closed.back() == 2u);
    s.release(3, true, t0, closed);
    BOOST_TEST(*s.acquire(4, false, true, t0, closed) == 3u);
    s.release(3, true, t0, closed); // second request: maxRequests reached
    BOOST_TEST(closed.back() == 3u);
    BOOST_TEST(s.open() == 0u);
}

BOOST_AUTO_TEST_CASE(idle_expiry_and_server_keep_alive_hint)
{
    PoolState s(limits(2, 30s));
    std::vector<ConnectionId> closed;
    s.acquire(1, false, true, t0, closed);
    s.acquire(2, false, true, t0, closed);
    s.connectsToStart();
    open(s, 1);
    open(s, 2);
    s.limitIdle(2, 5s);
    s.release(1, true, t0, closed);
    s.release(2, true, t0, closed);
    BOOST_TEST((*s.nextExpiry() == t0 + 5s));
    BOOST_TEST(s.expire(t0 + 4s).empty());
    BOOST_TEST(s.expire(t0 + 5s) == std::vector<ConnectionId>{2});
    BOOST_TEST((*s.nextExpiry() == t0 + 30s));
    // Acquire skips (and closes) an idle connection that expired before the sweep ran.
    BOOST_TEST(!s.acquire(3, false, true, t0 + 31s, closed));
    BOOST_TEST(closed.back() == 1u);
    BOOST_TEST(s.open() == 0u);
}

BOOST_AUTO_TEST_CASE(without_limits_only_a_keep_alive_hint_makes_a_connection_expire)
{
    PoolState s(limits(2));
    std::vector<ConnectionId> closed;
    openIdle(s, 1, closed);
    BOOST_TEST(!s.nextExpiry());
    BOOST_TEST(s.expire(t0 + 24h).empty());
    s.limitIdle(1, 5s);
    BOOST_TEST((*s.nextExpiry() == t0 + 5s));
    BOOST_TEST(s.expire(t0 + 5s) == std::vector<ConnectionId>{1});
}

BOOST_AUTO_TEST_CASE(fresh_waiter_gets_a_new_connection_only)
{
    PoolState s(limits(2));
    std::vector<ConnectionId> closed;
    s.acquire(1, false, true, t0, closed);
    s.acquire(2, false, true, t0, closed);
    s.connectsToStart();
    open(s, 1);
    open(s, 2);
    // Both busy at the limit; a stale retry arrives needing a fresh connection.
    BOOST_TEST(!s.acquire(3, true, true, t0, closed));
    BOOST_TEST(s.connectsToStart() == 0u);
    BOOST_TEST(!s.release(1, true, t0, closed)); // closed to make room, not handed to the fresh waiter
    BOOST_TEST(closed.back() == 1u);
    BOOST_TEST(s.connectsToStart() == 1u);
    BOOST_TEST(*open(s, 3) == 3u);

    // With idle connections at the limit, the least recently used one makes room.
    PoolState t(limits(1));
    openIdle(t, 5, closed);
    BOOST_TEST(!t.acquire(2, true, true, t0, closed));
    BOOST_TEST(closed.back() == 5u);
    BOOST_TEST(t.connectsToStart() == 1u);
}

BOOST_AUTO_TEST_CASE(drain_returns_idle_and_waiters)
{
    PoolState s(limits(1));
    std::vector<ConnectionId> closed;
    s.acquire(1, false, true, t0, closed);
    s.connectsToStart();
    open(s, 9);
    s.acquire(2, false, true, t0, closed);
    s.acquire(3, false, true, t0, closed);
    auto d = s.drain();
    BOOST_TEST(d.idle.empty());
    BOOST_TEST((d.waiters == std::vector<WaiterId>{2, 3}));
    BOOST_TEST(!s.release(9, false, t0, closed));
    BOOST_TEST(s.open() == 0u);
}
