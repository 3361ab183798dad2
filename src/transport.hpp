// SPDX-License-Identifier: BSL-1.0
// HTTPS transport: opens verified TLS connections to one origin and runs one HTTP/1.1
// exchange at a time on a connection. All Beast and OpenSSL code of the client lives in
// transport.cpp; everything above speaks in Connection, raw request bytes and Response.
#pragma once

#include "proxy.hpp"

#include <wix/inbox/tls.hpp>
#include <wix/inbox/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace wix::inbox::detail {

using Clock = std::chrono::steady_clock;

/// Where requests go, from ClientOptions::baseUrl.
struct Origin {
    std::string host;       ///< Without brackets for IPv6.
    std::string port;
    std::string hostHeader; ///< host[:port] as sent in `Host`.
    std::string authority;  ///< host:port with the port always given (a CONNECT's target).
    std::string pathPrefix; ///< The base URL's path without a trailing slash; may be empty.
    bool hostIsAddress = false;
};

/// Parses an https base URL; Errc::invalidArgument otherwise.
Result<Origin> parseBaseUrl(std::string_view url);

/// The call path keeps two (X-Wix-Request-Id, X-Wix-Consistent). Every Exchange holds this
/// many strings, in the frame of each call in flight, waiting ones included: no spare room.
inline constexpr std::size_t maxKeptHeaders = 2;

/// How responses are read: what one may cost (its size and the time to read it), and which
/// headers beyond HTTP's own the caller reads (the service's, named by the layer above).
struct ResponseRules {
    std::size_t maxHeaderBytes;
    std::size_t maxBodyBytes;
    std::chrono::milliseconds headersTimeout; ///< 0: the deadline only
    std::chrono::milliseconds readTimeout;    ///< 0: the deadline only
    /// Names, case-insensitive; their values come back in Response::kept, in this order.
    std::vector<std::string> keptHeaders;
    /// Every header of each response into Response::headers as well (an observer that
    /// wants them); off, no allocation per header.
    bool allHeaders = false;
};

struct Response {
    int status = 0;
    std::string body;
    std::string retryAfter;  ///< Retry-After, raw
    std::optional<std::chrono::seconds> keepAliveTimeout; ///< From `Keep-Alive: timeout=N`.
    std::array<std::string, maxKeptHeaders> kept; ///< ResponseRules::keptHeaders' values, raw
    std::vector<std::pair<std::string, std::string>> headers; ///< all, with ResponseRules::allHeaders
};

/// The outcome of one request/response exchange. Calls keep one in their frame while they
/// wait for a connection, so the rare error lives on the heap.
struct Exchange {
    std::unique_ptr<Error> error;      ///< Set when no complete response was read.
    bool requestStarted = false;       ///< Some request bytes were handed to the socket.
    bool responseStarted = false;      ///< Some response bytes arrived.
    bool reusable = false;             ///< Complete response, keep-alive, nothing left over.
    Clock::time_point finishedAt{};    ///< When the response was read, or the exchange failed.
    Response response;                 ///< Meaningful only without `error`.

    void fail(Error e) { error = std::make_unique<Error>(std::move(e)); }
    /// The status of the complete response; 0 if there is none.
    int status() const noexcept { return error ? 0 : response.status; }
};

/// One TLS connection. Used by one call at a time; only abort() may be called concurrently.
class Connection {
public:
    virtual ~Connection() = default;
    /// False if the server has closed the connection or sent unexpected bytes while idle.
    virtual bool looksAlive() noexcept = 0;
    /// Wakes any pending operation with an error (shutdown of the socket); thread-safe.
    virtual void abort() noexcept = 0;
    virtual bool resumedSession() const noexcept = 0;
    std::uint64_t exchanges = 0;
    Clock::time_point lastUsed{}; ///< When it was last given back to the pool.
};

class Transport {
public:
    /// Throws Exception(Errc::invalidArgument) if the CA file cannot be loaded. With `proxy`,
    /// connections are tunnelled through it (CONNECT), TLS still ending at the origin.
    Transport(boost::asio::any_io_executor executor, Origin origin, const TlsOptions& tls, ResponseRules rules,
              std::optional<ProxyRoute> proxy = std::nullopt);
    ~Transport();

    /// Resolves the host (every time: DNS may change), connects (through the proxy's tunnel,
    /// if any) and completes the TLS handshake, resuming the last TLS session of this origin
    /// when the server allows.
    boost::asio::awaitable<Result<std::unique_ptr<Connection>>> connect(Clock::time_point deadline);

    /// Writes `request` and reads one response into `ex` (which starts empty), all before
    /// `deadline`. `now`: the time, read by the caller just before (clocks cost a call each).
    boost::asio::awaitable<void> exchange(Connection& c, const std::string& request, Clock::time_point now,
                                          Clock::time_point deadline, Exchange& ex);

    const Origin& origin() const noexcept { return origin_; }

    class Tls;

private:
    boost::asio::any_io_executor executor_;
    Origin origin_;
    ResponseRules rules_;
    std::optional<ProxyRoute> proxy_;
    std::unique_ptr<Tls> tls_;
};

} // namespace wix::inbox::detail
