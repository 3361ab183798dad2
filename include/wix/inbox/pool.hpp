// SPDX-License-Identifier: BSL-1.0
// Options and statistics of the Client's shared connection pool.
//
// A Client owns one pool of keep-alive HTTPS connections to its origin (scheme, host,
// port, TLS settings); every call borrows a connection from it. Callers that find every
// connection busy wait in a strict FIFO queue and a released connection is handed
// directly to the oldest waiter.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace wix::inbox {

struct PoolOptions {
    /// Most connections open or being opened at once. Default 16. Range 1..65535
    /// (0 is rejected when the Client is built).
    std::size_t maxConnections = 16;

    /// Connections opened in the background when the Client is built, so the first calls
    /// find them ready. Default 0 (open on demand). At most maxConnections.
    std::size_t prewarmConnections = 0;

    /// Longest wait for a free connection. Default 0: no limit of its own, only the call's
    /// deadline. Expiry fails the call with Errc::poolAcquireTimeout.
    std::chrono::milliseconds acquireTimeout{0};

    /// Limit for DNS resolution + TCP connect + TLS handshake of one connection (opened in
    /// the background; a waiting call still gives up at its own deadline). Default 10 s.
    /// Must be > 0.
    std::chrono::milliseconds connectTimeout{std::chrono::seconds(10)};

    /// Connections idle longer than this are closed. Default 30 s (below common server
    /// keep-alive timeouts). A server's `Keep-Alive: timeout=N` shortens it for that
    /// connection to N-1 s. 0: idle connections are never closed by the pool.
    std::chrono::milliseconds idleTimeout{std::chrono::seconds(30)};

    /// Connections older than this are closed when released, so DNS changes and server
    /// rebalancing are picked up. Default 10 min. 0: unlimited.
    std::chrono::milliseconds maxLifetime{std::chrono::minutes(10)};

    /// Requests after which a connection is closed when released. Default 0: unlimited.
    std::uint64_t maxRequestsPerConnection = 0;
};

/// A snapshot of the pool; safe to read at any time from any thread.
struct PoolStats {
    std::size_t open = 0;        ///< Connected (idle + in use).
    std::size_t idle = 0;
    std::size_t inUse = 0;
    std::size_t connecting = 0;  ///< Being opened.
    std::size_t waiters = 0;     ///< Calls queued for a connection.
    std::uint64_t connectionsOpened = 0;
    std::uint64_t connectFailures = 0;
    std::uint64_t connectionsClosed = 0;
    std::uint64_t tlsFullHandshakes = 0;
    std::uint64_t tlsResumed = 0;        ///< Handshakes that resumed a TLS session.
    std::uint64_t staleRetries = 0;      ///< Requests re-sent on a fresh connection because a
                                         ///< reused one had been closed by the server.
    std::uint64_t acquireTimeouts = 0;
};

} // namespace wix::inbox
