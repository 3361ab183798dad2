// SPDX-License-Identifier: BSL-1.0
#include "transport.hpp"
#include "http_last_chunk.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <stdexcept>

namespace wix::inbox::detail {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto useTuple = net::as_tuple(net::use_awaitable);
// What a read asks OpenSSL for: it keeps the TLS record itself, so a small buffer of ours
// costs no extra system call and leaves less memory in every pooled connection.
constexpr std::size_t readChunk = 4096;
// Interim (1xx) responses accepted before the real one: a server that sends them without
// end must not keep a call alive.
constexpr int maxInterimResponses = 8;

bool isStreamEnd(const error_code& ec)
{
    return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == net::error::eof
        || ec == ssl::error::stream_truncated || ec == net::error::connection_reset
        || ec == net::error::broken_pipe || ec == net::error::connection_aborted;
}

// Maps a failure during a request/response exchange to the library's codes.
Error exchangeError(const error_code& ec, std::string_view during)
{
    Errc code = Errc::connectionClosed;
    if (ec == net::error::operation_aborted)
        code = Errc::cancelled;
    else if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow)
        code = Errc::responseTooLarge;
    else if (isStreamEnd(ec))
        code = Errc::connectionClosed;
    else if (ec.category() == http::make_error_code(http::error::bad_version).category())
        code = Errc::protocolError;
    return makeError(code, std::string(during) + ": " + ec.message(), ec);
}

// An I/O failure, or the timeout that caused it when the connection's deadline shut the
// socket down.
Error ioError(const error_code& ec, std::string_view during, bool expired)
{
    return expired ? makeError(Errc::timeout, std::string(during) + " timed out", ec) : exchangeError(ec, during);
}

std::optional<std::chrono::seconds> parseKeepAliveTimeout(std::string_view header)
{
    const auto at = header.find("timeout=");
    if (at == std::string_view::npos)
        return std::nullopt;
    long seconds = 0;
    bool any = false;
    for (std::size_t i = at + 8; i < header.size() && header[i] >= '0' && header[i] <= '9' && seconds < 1'000'000; ++i) {
        seconds = seconds * 10 + (header[i] - '0');
        any = true;
    }
    return any ? std::optional(std::chrono::seconds(seconds)) : std::nullopt;
}

// Parses one response, keeping only the few headers the client reads and the body: no
// per-field allocation, unlike a full message with its field list.
class ResponseParser final : public http::basic_parser<false> {
public:
    ResponseParser(Response& out, const std::vector<std::string>& keptHeaders, bool allHeaders)
        : out_(out), keptHeaders_(keptHeaders), allHeaders_(allHeaders)
    {
        eager(true);
    }

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override {}
    void on_response_impl(int code, beast::string_view, int, error_code&) override { out_.status = code; }
    void on_field_impl(http::field name, beast::string_view nameText, beast::string_view value, error_code&) override
    {
        if (allHeaders_)
            out_.headers.emplace_back(std::string(nameText), std::string(value));
        if (name == http::field::retry_after)
            out_.retryAfter.assign(value.data(), value.size());
        else if (name == http::field::keep_alive)
            out_.keepAliveTimeout = parseKeepAliveTimeout(value);
        else if (name == http::field::unknown)
            for (std::size_t i = 0; i < keptHeaders_.size(); ++i)
                if (beast::iequals(nameText, keptHeaders_[i]))
                    out_.kept[i].assign(value.data(), value.size());
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override
    {
        if (length) // within the body limit: the parser checked it before this call
            out_.body.reserve(static_cast<std::size_t>(*length));
    }
    std::size_t on_body_impl(beast::string_view data, error_code&) override
    {
        out_.body.append(data.data(), data.size());
        return data.size();
    }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data, error_code&) override
    {
        out_.body.append(data.data(), data.size());
        return data.size();
    }
    void on_finish_impl(error_code&) override {}

    Response& out_;
    const std::vector<std::string>& keptHeaders_;
    bool allHeaders_;
};

// What an OpenSSL call needs before it can go on, or how it ended.
enum class Want { nothing, read, write };
struct IoStep {
    error_code error;
    Want want = Want::nothing;
    std::size_t bytes = 0;
};

// A BIO reading and writing the connection's socket directly: no copy through Asio's BIO
// pair, and send() with MSG_NOSIGNAL (OpenSSL's own socket BIO uses write(), which raises
// SIGPIPE on a connection the server closed).
class SocketBio {
public:
    static BIO* make(int fd)
    {
        BIO* bio = BIO_new(method());
        if (bio) {
            BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd))); // NOLINT(performance-no-int-to-ptr)
            BIO_set_init(bio, 1);
        }
        return bio;
    }

private:
    static const BIO_METHOD* method()
    {
        static BIO_METHOD* const m = [] {
            BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wix-inbox socket");
            BIO_meth_set_write_ex(bm, &SocketBio::write);
            BIO_meth_set_read_ex(bm, &SocketBio::read);
            BIO_meth_set_ctrl(bm, &SocketBio::ctrl);
            return bm;
        }();
        return m;
    }

    static int fd(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

    // Both report "try again" for EAGAIN; a failure leaves errno for SSL_ERROR_SYSCALL.
    static int write(BIO* bio, const char* data, std::size_t size, std::size_t* written)
    {
        BIO_clear_retry_flags(bio);
        const auto n = ::send(fd(bio), data, size, MSG_NOSIGNAL);
        if (n >= 0) {
            *written = static_cast<std::size_t>(n);
            return 1;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            BIO_set_retry_write(bio);
        return 0;
    }

    static int read(BIO* bio, char* data, std::size_t size, std::size_t* readBytes)
    {
        BIO_clear_retry_flags(bio);
        const auto n = ::recv(fd(bio), data, size, 0);
        if (n > 0) {
            *readBytes = static_cast<std::size_t>(n);
            return 1;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            BIO_set_retry_read(bio);
        return 0; // n == 0: end of stream
    }

    static long ctrl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }
};

// Bounds a connection's I/O in time without a strand. The timer's handler runs on any
// thread while the connection's coroutine runs on another, so it only shuts the socket
// down (which wakes the pending wait with an error) and notes that it did. The mutex
// orders that against the connection closing its socket, so a handler that fires late
// never touches a descriptor the system has given to someone else; every use of the
// timer is made under it too.
//
// The timer is lazy: a new deadline later than the armed one (the common case, each call's
// deadline being later than the last) only moves `until`, and the timer, when it fires
// early, waits again for the rest. An exchange then costs two lock/unlocks, no timer work.
class Watchdog : public std::enable_shared_from_this<Watchdog> {
public:
    Watchdog(const net::any_io_executor& executor, int fd) : timer_(executor), fd_(fd) {}

    void watchUntil(Clock::time_point until)
    {
        std::lock_guard lock(mutex_);
        watching_ = true;
        fired_ = false;
        until_ = until;
        if (!waiting_ || until < timerAt_)
            waitLocked();
    }

    /// True if the deadline shut the socket down.
    bool stopWatching()
    {
        std::lock_guard lock(mutex_);
        watching_ = false;
        return fired_;
    }

    bool fired()
    {
        std::lock_guard lock(mutex_);
        return fired_;
    }

    void shutdownSocket()
    {
        std::lock_guard lock(mutex_);
        shutdownLocked();
    }

    /// The connection closes its socket after this: the watchdog never touches it again.
    void close() noexcept
    {
        std::lock_guard lock(mutex_);
        fd_ = -1;
        boost::system::error_code ignored; // a wait left armed finds fd_ < 0 and does nothing
        timer_.cancel(ignored);
    }

private:
    void waitLocked()
    {
        timer_.expires_at(until_); // wakes a wait armed for later with operation_aborted
        timerAt_ = until_;
        waiting_ = true;
        timer_.async_wait([self = shared_from_this(), wait = ++waits_](error_code ec) {
            std::lock_guard lock(self->mutex_);
            if (wait != self->waits_)
                return; // replaced by a wait for an earlier deadline
            self->waiting_ = false;
            if (ec || self->fd_ < 0 || !self->watching_)
                return;
            if (Clock::now() < self->until_) {
                self->waitLocked();
                return;
            }
            self->fired_ = true;
            self->shutdownLocked();
        });
    }

    void shutdownLocked()
    {
        if (fd_ >= 0)
            ::shutdown(fd_, SHUT_RDWR);
    }

    std::mutex mutex_;
    net::steady_timer timer_;
    int fd_;                      // -1 once the connection is closed
    bool watching_ = false;       // an exchange or handshake is bounded by until_
    bool fired_ = false;
    bool waiting_ = false;        // the timer has a wait outstanding, ending at timerAt_
    Clock::time_point until_{};
    Clock::time_point timerAt_{};
    std::uint64_t waits_ = 0;     // identifies the outstanding wait
};

struct SslFree {
    void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

// One TLS connection: OpenSSL over a non-blocking socket, with Asio only telling when the
// socket is ready. Pooled connections are dropped without close_notify, as browsers do.
class TlsConnection final : public Connection {
public:
    /// Throws std::bad_alloc if OpenSSL cannot allocate the connection.
    TlsConnection(tcp::socket s, SSL_CTX* ctx)
        : socket(std::move(s))
        , ssl(SSL_new(ctx))
        , watchdog_(std::make_shared<Watchdog>(socket.get_executor(), socket.native_handle()))
    {
        BIO* bio = ssl ? SocketBio::make(socket.native_handle()) : nullptr;
        if (!bio)
            throw std::bad_alloc();
        SSL_set_bio(ssl.get(), bio, bio);
        SSL_set_connect_state(ssl.get());
        SSL_set_mode(ssl.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_set_read_ahead(ssl.get(), 1); // one recv() per flight of records, not two per record
        socket.non_blocking(true);
    }

    ~TlsConnection() override { watchdog_->close(); }

    TlsConnection(const TlsConnection&) = delete;
    TlsConnection& operator=(const TlsConnection&) = delete;

    bool looksAlive() noexcept override
    {
        if (buffer.size() != 0 || SSL_has_pending(ssl.get()))
            return false;
        char byte;
        const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        // Readable while idle means EOF, a reset, or a TLS alert: none leaves it usable.
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }

    void abort() noexcept override { watchdog_->shutdownSocket(); }

    bool resumedSession() const noexcept override { return resumed; }

    /// One try of an OpenSSL operation (`op(bytes)` returning its int). Failures are named
    /// as Asio's SSL stream names them, so the rest of the transport reads them the same way.
    /// Most tries complete at once: callers make them inline and go to finish() only when
    /// OpenSSL must wait for the socket, so the common case costs no coroutine frame.
    template <class Op>
    IoStep attempt(Op& op)
    {
        if (ERR_peek_error() != 0)
            ERR_clear_error(); // SSL_get_error reads this thread's error queue
        std::size_t bytes = 0;
        errno = 0; // an end of stream leaves it untouched
        const int ret = op(bytes);
        if (ret > 0)
            return {{}, Want::nothing, bytes};
        const int systemError = errno;
        switch (SSL_get_error(ssl.get(), ret)) {
        case SSL_ERROR_WANT_READ: return {{}, Want::read};
        case SSL_ERROR_WANT_WRITE: return {{}, Want::write};
        case SSL_ERROR_ZERO_RETURN: return {net::error::eof};
        case SSL_ERROR_SYSCALL:
            if (const unsigned long e = ERR_get_error())
                return {error_code(static_cast<int>(e), net::error::get_ssl_category())};
            if (systemError != 0)
                return {error_code(systemError, boost::system::system_category())};
            return {ssl::error::stream_truncated};
        default: {
            const unsigned long e = ERR_get_error();
            if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                return {ssl::error::stream_truncated};
            return {error_code(static_cast<int>(e), net::error::get_ssl_category())};
        }
        }
    }

    /// Completes an operation whose last try asked to wait (`step.want`): waits for the
    /// socket and tries again, as often as OpenSSL asks.
    template <class Op>
    net::awaitable<IoStep> finish(Op op, IoStep step)
    {
        while (step.want != Want::nothing) {
            // A cancellation that came while the coroutine was suspended on something that
            // cannot be cancelled (a post) is only recorded: honour it before waiting.
            const auto cancellation = co_await net::this_coro::cancellation_state;
            if (cancellation.cancelled() != net::cancellation_type::none)
                co_return IoStep{net::error::operation_aborted};
            auto [ec] = co_await socket.async_wait(
                step.want == Want::read ? tcp::socket::wait_read : tcp::socket::wait_write, useTuple);
            if (ec)
                co_return IoStep{ec};
            step = attempt(op);
        }
        co_return step;
    }

    /// Watches the I/O until `until`: then the socket is shut down and expired() is true.
    void watchUntil(Clock::time_point until) { watchdog_->watchUntil(until); }
    /// Stops watching; true if the deadline had already shut the socket down.
    bool stopWatching() { return watchdog_->stopWatching(); }
    bool expired() { return watchdog_->fired(); }

    tcp::socket socket;
    std::unique_ptr<SSL, SslFree> ssl;
    beast::flat_buffer buffer;
    bool resumed = false;

private:
    std::shared_ptr<Watchdog> watchdog_;
};

} // namespace

Result<Origin> parseBaseUrl(std::string_view url)
{
    auto invalid = [&](std::string_view why) -> Error {
        return makeError(Errc::invalidArgument, "invalid base URL: " + std::string(why));
    };
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed)
        return invalid("not an absolute URL");
    const auto& u = *parsed;
    if (u.scheme() != "https")
        return invalid(u.scheme() == "http" ? "only https is supported: use https://" + std::string(u.encoded_authority())
                                                  + std::string(u.encoded_path())
                                            : std::string("only https is supported"));
    if (u.has_userinfo() || u.has_query() || u.has_fragment())
        return invalid("user info, query and fragment are not allowed");
    Origin o;
    switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
        o.host = u.host_address();
        o.hostIsAddress = true;
        break;
    case boost::urls::host_type::name:
        o.host = u.host_name();
        break;
    default:
        return invalid("unsupported host");
    }
    if (o.host.empty())
        return invalid("no host");
    o.port = u.has_port() ? std::string(u.port()) : "443";
    o.hostHeader = std::string(u.encoded_host_and_port());
    o.authority = std::string(u.encoded_host()) + ":" + o.port;
    o.pathPrefix = std::string(u.encoded_path());
    while (!o.pathPrefix.empty() && o.pathPrefix.back() == '/')
        o.pathPrefix.pop_back();
    return o;
}

// The TLS context of one origin, with the client-side session cache used for resumption.
class Transport::Tls {
public:
    explicit Tls(const TlsOptions& options) : context(ssl::context::tls_client)
    {
        context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3
                            | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        if (options.verifyPeer) {
            context.set_verify_mode(ssl::verify_peer);
            if (options.useSystemRoots)
                context.set_default_verify_paths();
        } else {
            context.set_verify_mode(ssl::verify_none);
        }
        if (!options.caFile.empty()) {
            error_code ec;
            context.load_verify_file(options.caFile, ec);
            if (ec)
                throw Exception(makeError(Errc::invalidArgument, "cannot load CA file '" + options.caFile + "'", ec));
        }
        SSL_CTX* native = context.native_handle();
        SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_set_ex_data(native, exDataIndex(), this);
        SSL_CTX_sess_set_new_cb(native, &Tls::onNewSession);
    }

    ~Tls()
    {
        if (session_)
            SSL_SESSION_free(session_);
    }

    // Offers the newest session of this origin for resumption. Each connection gets a copy:
    // OpenSSL updates a connection's session object when tickets arrive, so connections on
    // other threads must not share one.
    void offerSession(SSL* ssl)
    {
        SSL_SESSION* copy = nullptr;
        {
            std::lock_guard lock(mutex_);
            if (session_)
                copy = SSL_SESSION_dup(session_);
        }
        if (copy) {
            SSL_set_session(ssl, copy);
            SSL_SESSION_free(copy); // the connection holds its own reference
        }
    }

    ssl::context context;

private:
    // Asio keeps its own pointer in the context's app data: ours needs a slot of its own.
    static int exDataIndex()
    {
        static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
        return index;
    }

    // OpenSSL hands over each new session (TLS 1.3: each ticket, after the handshake). We
    // keep a copy: the connection's own object is marked non-resumable when the connection
    // is dropped without close_notify, as pooled connections are.
    static int onNewSession(SSL* ssl, SSL_SESSION* session)
    {
        auto* self = static_cast<Tls*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), exDataIndex()));
        SSL_SESSION* copy = SSL_SESSION_dup(session);
        if (!copy)
            return 0;
        std::lock_guard lock(self->mutex_);
        if (self->session_)
            SSL_SESSION_free(self->session_);
        self->session_ = copy;
        return 0; // OpenSSL keeps (and releases) its own reference
    }

    std::mutex mutex_;
    SSL_SESSION* session_ = nullptr;
};

Transport::Transport(net::any_io_executor executor, Origin origin, const TlsOptions& tls, ResponseRules rules,
                     std::optional<ProxyRoute> proxy)
    : executor_(std::move(executor))
    , origin_(std::move(origin))
    , rules_(std::move(rules))
    , proxy_(std::move(proxy))
    , tls_(std::make_unique<Tls>(tls))
{
    if (rules_.keptHeaders.size() > maxKeptHeaders)
        throw std::invalid_argument("a transport keeps at most maxKeptHeaders response headers");
}

Transport::~Transport() = default;

namespace {

// The proxy's answer to CONNECT, as an error unless it opened the tunnel (any 2xx).
std::optional<Error> tunnelRefusal(std::string_view head, const ProxyRoute& proxy, const Origin& origin)
{
    // "HTTP/1.1 200 Connection established"
    const bool http = head.size() >= 12 && head.starts_with("HTTP/1.") && head[8] == ' '
                   && std::all_of(head.begin() + 9, head.begin() + 12, [](char c) { return c >= '0' && c <= '9'; });
    if (!http)
        return makeError(Errc::proxyFailed, "proxy " + proxy.name + " answered CONNECT with something not HTTP");
    const int status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    const std::string answered = "proxy " + proxy.name + " answered " + std::to_string(status) + " to CONNECT "
                               + origin.authority;
    if (status >= 200 && status < 300)
        return std::nullopt;
    // 407 asks for credentials; some proxies (tinyproxy) answer wrong ones with 401.
    if (status == 407 || status == 401)
        return makeError(Errc::proxyAuthFailed, answered + (proxy.authorization.empty()
                                                              ? ": it asks for credentials (user:password@ in the proxy URL)"
                                                              : ": it rejected the credentials"));
    // The second hop failed (tinyproxy says so with 500): retried like a connect.
    if (status == 500 || status == 502 || status == 503 || status == 504)
        return makeError(Errc::connectFailed, answered + ": it could not reach the origin");
    return makeError(Errc::proxyFailed, answered + ": it refused the tunnel");
}

// Asks the proxy for a tunnel to the origin. Its answer is read up to `maxAnswerBytes`
// within the stream's deadline. The origin sends nothing before our ClientHello, so any
// byte after the answer's header block is the proxy's own, and wrong.
net::awaitable<std::optional<Error>> openTunnel(beast::tcp_stream& stream, const ProxyRoute& proxy,
                                                const Origin& origin, std::size_t maxAnswerBytes)
{
    std::string request = "CONNECT " + origin.authority + " HTTP/1.1\r\nHost: " + origin.authority + "\r\n";
    if (!proxy.authorization.empty())
        request += "Proxy-Authorization: " + proxy.authorization + "\r\n";
    request += "\r\n";
    auto failed = [&](const error_code& ec, std::string_view during) {
        if (ec == beast::error::timeout)
            return makeError(Errc::timeout, "proxy " + proxy.name + " timed out " + std::string(during), ec);
        const Errc code = isStreamEnd(ec) ? Errc::connectionClosed : Errc::connectFailed;
        return makeError(code, "proxy " + proxy.name + " failed " + std::string(during) + ": " + ec.message(), ec);
    };
    auto [writeError, written] = co_await net::async_write(stream, net::buffer(request), useTuple);
    if (writeError)
        co_return failed(writeError, "while sending CONNECT");

    std::string answer(maxAnswerBytes, '\0');
    std::size_t size = 0;
    for (;;) {
        auto [readError, n] = co_await stream.async_read_some(net::buffer(answer.data() + size, answer.size() - size),
                                                              useTuple);
        size += n;
        const std::string_view got(answer.data(), size);
        if (const auto end = got.find("\r\n\r\n"); end != std::string_view::npos) {
            if (auto refusal = tunnelRefusal(got, proxy, origin))
                co_return refusal;
            if (end + 4 != size)
                co_return makeError(Errc::proxyFailed, "proxy " + proxy.name + " sent bytes after its answer to CONNECT");
            co_return std::nullopt;
        }
        if (readError)
            co_return failed(readError, "before answering CONNECT");
        if (size == answer.size())
            co_return makeError(Errc::proxyFailed, "proxy " + proxy.name + "'s answer to CONNECT exceeds "
                                                       + std::to_string(maxAnswerBytes) + " bytes");
    }
}

} // namespace

net::awaitable<Result<std::unique_ptr<Connection>>> Transport::connect(Clock::time_point deadline)
{
    // Through a proxy, TCP goes to the proxy and TLS to the origin, inside the tunnel.
    const bool viaProxy = proxy_.has_value();
    const std::string& host = viaProxy ? proxy_->host : origin_.host;
    const std::string& port = viaProxy ? proxy_->port : origin_.port;
    const bool numeric = viaProxy ? proxy_->hostIsAddress : origin_.hostIsAddress;
    const std::string hop = viaProxy ? "proxy " + proxy_->name : origin_.hostHeader;
    const std::string via = viaProxy ? " through proxy " + proxy_->name : "";

    tcp::resolver resolver(executor_);
    const auto flags = numeric ? tcp::resolver::numeric_host : tcp::resolver::flags();
    auto [resolveError, endpoints] = co_await resolver.async_resolve(host, port, flags, useTuple);
    if (resolveError)
        co_return makeError(Errc::resolveFailed,
                            "cannot resolve " + std::string(viaProxy ? "proxy " : "") + "'" + host + "': "
                                + resolveError.message(),
                            resolveError);
    if (Clock::now() >= deadline)
        co_return makeError(Errc::timeout, "deadline expired while resolving '" + host + "'");

    // Beast's stream bounds the connect (tried over every address) and the CONNECT exchange
    // by the deadline; the pool runs connects on a strand of their own, as its timer requires.
    beast::tcp_stream tcpStream(executor_);
    tcpStream.expires_at(deadline);
    auto [connectError, endpoint] = co_await tcpStream.async_connect(endpoints, useTuple);
    if (connectError) {
        const Errc code = connectError == beast::error::timeout ? Errc::timeout : Errc::connectFailed;
        co_return makeError(code, "cannot connect to " + hop + ": " + connectError.message(), connectError);
    }
    error_code ignored; // Nagle only adds latency; failing to disable it is harmless
    tcpStream.socket().set_option(tcp::no_delay(true), ignored);
    if (viaProxy)
        if (auto refused = co_await openTunnel(tcpStream, *proxy_, origin_, rules_.maxHeaderBytes))
            co_return std::move(*refused);
    tcpStream.expires_never();
    auto conn = std::make_unique<TlsConnection>(tcpStream.release_socket(), tls_->context.native_handle());

    SSL* ssl = conn->ssl.get();
    if (origin_.hostIsAddress) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), origin_.host.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl, origin_.host.c_str());
        SSL_set1_host(ssl, origin_.host.c_str());
    }
    tls_->offerSession(ssl);

    conn->watchUntil(deadline);
    auto doHandshake = [ssl](std::size_t&) { return SSL_do_handshake(ssl); };
    IoStep handshake = conn->attempt(doHandshake);
    if (handshake.want != Want::nothing)
        handshake = co_await conn->finish(doHandshake, handshake);
    const auto& handshakeError = handshake.error;
    const bool expired = conn->stopWatching();
    if (expired) // even if the handshake completed just before: its socket is shut down
        co_return makeError(Errc::timeout, "TLS handshake with " + origin_.hostHeader + via + " timed out",
                            handshakeError);
    if (handshakeError) {
        if (isStreamEnd(handshakeError))
            co_return makeError(Errc::connectionClosed,
                                "connection closed during the TLS handshake with " + origin_.hostHeader + via,
                                handshakeError);
        std::string why = handshakeError.message();
        if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK)
            why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
        co_return makeError(Errc::tlsHandshakeFailed,
                            "TLS handshake with " + origin_.hostHeader + via + " failed: " + why, handshakeError);
    }
    conn->resumed = SSL_session_reused(ssl) == 1;
    co_return std::unique_ptr<Connection>(std::move(conn));
}

namespace {

// Reads one response (after any 1xx interim ones) into an Exchange, feeding the
// connection's buffer to the parser; the exchange's coroutine makes the reads it asks for.
// Not a coroutine itself: the common exchange (the whole response in one read) then makes
// no coroutine frame but the exchange's own.
class ResponseReader {
public:
    ResponseReader(TlsConnection& c, const ResponseRules& rules, Clock::time_point headersLimit,
                   Clock::time_point readLimit, Exchange& ex)
        : c_(c), rules_(rules), headersLimit_(headersLimit), readLimit_(readLimit), ex_(ex)
    {
        start();
    }

    /// True (and `ex` holds the timeout) when the limit of the part being read has passed:
    /// then nothing more is read, however fast the peer keeps sending.
    bool expired(Clock::time_point now)
    {
        if (now < (headerSeen_ ? readLimit_ : headersLimit_))
            return false;
        ex_.fail(makeError(Errc::timeout, headerSeen_ ? "reading the response body timed out"
                                                      : "waiting for the response headers timed out"));
        return true;
    }

    /// Feeds the buffered bytes to the parser. True when the exchange is over: the response
    /// is complete in `ex`, or `ex` holds the error. False when more bytes are needed.
    bool parseBuffered()
    {
        for (;;) {
            error_code ec;
            if (parser_->is_header_done() && parser_->chunked()
                && lastChunkAwaitingItsEnd({static_cast<const char*>(c_.buffer.data().data()), c_.buffer.size()}))
                return false; // more bytes are needed (http_last_chunk.hpp)
            if (c_.buffer.size() > 0)
                c_.buffer.consume(parser_->put(c_.buffer.data(), ec));
            if (!headerSeen_ && parser_->is_header_done()) {
                headerSeen_ = true;
                if (readLimit_ != headersLimit_)
                    c_.watchUntil(readLimit_);
            }
            if (ec && ec != http::error::need_more)
                return fail(exchangeError(ec, "reading the response"));
            if (parser_->is_done()) {
                if (complete())
                    return true;
                continue; // an interim response: the real one may be buffered already
            }
            if (ec || c_.buffer.size() == 0)
                return false;
        }
    }

    /// Takes a read into the connection's buffer (its bytes, or how it failed). True when
    /// the exchange is over.
    bool onRead(const IoStep& read)
    {
        c_.buffer.commit(read.bytes);
        ex_.responseStarted = ex_.responseStarted || read.bytes > 0;
        // Beast bounds the header block and the body, not chunk extensions, trailers or
        // interim responses: the bytes on the wire are bounded here, whatever they are.
        received_ += read.bytes;
        if (received_ > rules_.maxHeaderBytes + rules_.maxBodyBytes)
            return fail(makeError(Errc::responseTooLarge,
                                  "the response exceeds " + std::to_string(rules_.maxHeaderBytes + rules_.maxBodyBytes)
                                      + " bytes (headers, framing and body)"));
        if (read.error == net::error::eof && parser_->got_some()) {
            error_code ec;
            parser_->put_eof(ec); // a body that ends with the connection
            if (ec)
                return fail(exchangeError(ec, "reading the response"));
            return complete();
        }
        if (read.error)
            return fail(ioError(read.error, headerSeen_ ? "reading the response body" : "waiting for the response headers",
                                c_.expired()));
        return parseBuffered();
    }

private:
    void start()
    {
        parser_.emplace(ex_.response, rules_.keptHeaders, rules_.allHeaders);
        parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(rules_.maxHeaderBytes, UINT32_MAX)));
        parser_->body_limit(rules_.maxBodyBytes);
        headerSeen_ = false;
    }

    // A response was parsed whole: the exchange is over unless it was an interim one.
    bool complete()
    {
        const int status = ex_.response.status;
        if (status == 101)
            return fail(makeError(Errc::protocolError, "unexpected 101 Switching Protocols"));
        if (status >= 100 && status < 200) {
            if (++interim_ > maxInterimResponses)
                return fail(makeError(Errc::protocolError, "more than " + std::to_string(maxInterimResponses)
                                                               + " interim (1xx) responses"));
            ex_.response = Response{};
            start();
            return false;
        }
        ex_.reusable = parser_->keep_alive() && c_.buffer.size() == 0 && !SSL_has_pending(c_.ssl.get());
        return true;
    }

    bool fail(Error e)
    {
        ex_.fail(std::move(e));
        return true;
    }

    TlsConnection& c_;
    const ResponseRules& rules_;
    Clock::time_point headersLimit_;
    Clock::time_point readLimit_;
    Exchange& ex_;
    std::optional<ResponseParser> parser_;
    bool headerSeen_ = false;
    std::size_t received_ = 0; // bytes of this exchange's responses, interim ones included
    int interim_ = 0;
};

} // namespace

net::awaitable<void> Transport::exchange(Connection& base, const std::string& request, Clock::time_point start,
                                         Clock::time_point deadline, Exchange& ex)
{
    auto& c = static_cast<TlsConnection&>(base);
    ++c.exchanges;
    // Limits count from the request on; writing it is bounded by the headers' limit, so
    // one watch serves the whole exchange in the common case (no extra limits).
    auto limit = [&](std::chrono::milliseconds timeout) {
        return timeout.count() > 0 ? std::min(deadline, start + timeout) : deadline;
    };
    const auto readLimit = limit(rules_.readTimeout);
    const auto headersLimit = std::min(readLimit, limit(rules_.headersTimeout));

    c.watchUntil(headersLimit);
    ex.requestStarted = true;
    auto writeAll = [&c, &request](std::size_t& n) {
        return SSL_write_ex(c.ssl.get(), request.data(), request.size(), &n);
    };
    IoStep write = c.attempt(writeAll);
    if (write.want != Want::nothing)
        write = co_await c.finish(writeAll, write);
    if (const auto& writeError = write.error) {
        ex.fail(ioError(writeError, "sending the request", c.expired()));
    } else {
        // Let the other work queued on this thread run first: by then the response has
        // usually arrived, and reading it costs one recv() instead of a recv() that finds
        // nothing, an epoll re-arm and a second recv().
        co_await net::post(net::use_awaitable);
        ResponseReader reader(c, rules_, headersLimit, readLimit, ex);
        bool over = reader.parseBuffered();
        // The first read needs no look at the clock: the watch has been on since the start.
        for (bool first = true; !over && (first || !reader.expired(Clock::now())); first = false) {
            const auto space = c.buffer.prepare(readChunk);
            auto readSome = [&c, space](std::size_t& n) {
                return SSL_read_ex(c.ssl.get(), space.data(), space.size(), &n);
            };
            IoStep read = c.attempt(readSome);
            if (read.want != Want::nothing)
                read = co_await c.finish(readSome, read);
            over = reader.onRead(read);
        }
    }
    ex.finishedAt = Clock::now();
    if (c.stopWatching()) {
        // The deadline shut the socket down, perhaps just after the response was read:
        // that response stands, but the connection is done.
        ex.reusable = false;
        if (ex.error && ex.error->code != make_error_code(Errc::timeout))
            ex.fail(makeError(Errc::timeout, "the deadline expired during the exchange"));
        // cppcheck-suppress missingReturn ; cppcheck 2.10 takes this coroutine for a plain function
    }
}

} // namespace wix::inbox::detail
