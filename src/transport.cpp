#include "transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <cerrno>

namespace wix::inbox::detail {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto useTuple = net::as_tuple(net::use_awaitable);

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
    if (ec == beast::error::timeout)
        code = Errc::timeout;
    else if (ec == net::error::operation_aborted)
        code = Errc::cancelled;
    else if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow)
        code = Errc::responseTooLarge;
    else if (isStreamEnd(ec))
        code = Errc::connectionClosed;
    else if (ec.category() == http::make_error_code(http::error::bad_version).category())
        code = Errc::protocolError;
    return makeError(code, std::string(during) + ": " + ec.message(), ec);
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

class TlsConnection final : public Connection {
public:
    TlsConnection(const net::any_io_executor& ex, ssl::context& ctx) : stream(ex, ctx) {}

    bool looksAlive() noexcept override
    {
        const int fd = fd_.load(std::memory_order_relaxed);
        if (fd < 0 || buffer.size() != 0)
            return false;
        char byte;
        const auto n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        // Readable while idle means EOF, a reset, or a TLS alert: none leaves it usable.
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }

    void abort() noexcept override
    {
        const int fd = fd_.load(std::memory_order_relaxed);
        if (fd >= 0)
            ::shutdown(fd, SHUT_RDWR);
    }

    bool resumedSession() const noexcept override { return resumed; }

    void connected()
    {
        fd_.store(beast::get_lowest_layer(stream).socket().native_handle(), std::memory_order_relaxed);
    }

    beast::ssl_stream<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    bool resumed = false;

private:
    std::atomic<int> fd_{-1};
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
        return invalid("only https is supported");
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

Transport::Transport(net::any_io_executor executor, Origin origin, const TlsOptions& tls, ResponseLimits limits)
    : executor_(std::move(executor))
    , origin_(std::move(origin))
    , limits_(limits)
    , tls_(std::make_unique<Tls>(tls))
{
}

Transport::~Transport() = default;

net::awaitable<Result<std::unique_ptr<Connection>>> Transport::connect(Clock::time_point deadline)
{
    auto conn = std::make_unique<TlsConnection>(executor_, tls_->context);
    auto& tcpStream = beast::get_lowest_layer(conn->stream);

    tcp::resolver resolver(executor_);
    const auto flags = origin_.hostIsAddress ? tcp::resolver::numeric_host : tcp::resolver::flags();
    auto [resolveError, endpoints] = co_await resolver.async_resolve(origin_.host, origin_.port, flags, useTuple);
    if (resolveError)
        co_return makeError(Errc::resolveFailed, "cannot resolve '" + origin_.host + "': " + resolveError.message(),
                            resolveError);
    if (Clock::now() >= deadline)
        co_return makeError(Errc::timeout, "deadline expired while resolving '" + origin_.host + "'");

    tcpStream.expires_at(deadline);
    auto [connectError, endpoint] = co_await tcpStream.async_connect(endpoints, useTuple);
    if (connectError) {
        const Errc code = connectError == beast::error::timeout ? Errc::timeout : Errc::connectFailed;
        co_return makeError(code, "cannot connect to " + origin_.hostHeader + ": " + connectError.message(),
                            connectError);
    }
    error_code ignored; // Nagle only adds latency; failing to disable it is harmless
    tcpStream.socket().set_option(tcp::no_delay(true), ignored);

    SSL* ssl = conn->stream.native_handle();
    if (origin_.hostIsAddress) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), origin_.host.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl, origin_.host.c_str());
        SSL_set1_host(ssl, origin_.host.c_str());
    }
    tls_->offerSession(ssl);

    auto [handshakeError] = co_await conn->stream.async_handshake(ssl::stream_base::client, useTuple);
    if (handshakeError) {
        if (handshakeError == beast::error::timeout)
            co_return makeError(Errc::timeout, "TLS handshake with " + origin_.hostHeader + " timed out",
                                handshakeError);
        if (isStreamEnd(handshakeError))
            co_return makeError(Errc::connectionClosed,
                                "connection closed during the TLS handshake with " + origin_.hostHeader,
                                handshakeError);
        std::string why = handshakeError.message();
        if (const long verify = SSL_get_verify_result(ssl); verify != X509_V_OK)
            why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
        co_return makeError(Errc::tlsHandshakeFailed, "TLS handshake with " + origin_.hostHeader + " failed: " + why,
                            handshakeError);
    }
    conn->resumed = SSL_session_reused(ssl) == 1;
    tcpStream.expires_never();
    conn->connected();
    co_return std::unique_ptr<Connection>(std::move(conn));
}

net::awaitable<Exchange> Transport::exchange(Connection& base, const std::string& request, Clock::time_point deadline)
{
    auto& c = static_cast<TlsConnection&>(base);
    auto& tcpStream = beast::get_lowest_layer(c.stream);
    Exchange ex;
    ++c.exchanges;
    // Limits count from the request on; writing it is bounded by the headers' limit, so
    // one timer setting serves the whole exchange in the common case (no extra limits).
    const auto start = Clock::now();
    auto limit = [&](std::chrono::milliseconds timeout) {
        return timeout.count() > 0 ? std::min(deadline, start + timeout) : deadline;
    };
    const auto readLimit = limit(limits_.readTimeout);
    const auto headersLimit = std::min(readLimit, limit(limits_.headersTimeout));

    tcpStream.expires_at(headersLimit);
    ex.requestStarted = true;
    auto [writeError, written] = co_await net::async_write(c.stream, net::buffer(request), useTuple);
    if (writeError) {
        ex.error = exchangeError(writeError, "sending the request");
        co_return ex;
    }

    for (;;) {
        http::response_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limits_.maxHeaderBytes, UINT32_MAX)));
        parser.body_limit(limits_.maxBodyBytes);
        auto [headerError, headerBytes] = co_await http::async_read_header(c.stream, c.buffer, parser, useTuple);
        ex.responseStarted = ex.responseStarted || parser.got_some() || c.buffer.size() > 0;
        if (headerError) {
            ex.error = exchangeError(headerError, "waiting for the response headers");
            co_return ex;
        }
        if (readLimit != headersLimit)
            tcpStream.expires_at(readLimit);
        auto [readError, read] = co_await http::async_read(c.stream, c.buffer, parser, useTuple);
        if (readError) {
            ex.error = exchangeError(readError, "reading the response body");
            co_return ex;
        }
        auto& message = parser.get();
        const int status = static_cast<int>(message.result_int());
        if (status == 101) {
            ex.error = makeError(Errc::protocolError, "unexpected 101 Switching Protocols");
            co_return ex;
        }
        if (status >= 100 && status < 200)
            continue; // interim response: the real one follows
        Response& r = ex.response;
        r.status = status;
        r.requestId = std::string(message["X-Wix-Request-Id"]);
        r.retryAfter = std::string(message[http::field::retry_after]);
        r.consistent = std::string(message["X-Wix-Consistent"]);
        r.keepAliveTimeout = parseKeepAliveTimeout(message[http::field::keep_alive]);
        r.body = std::move(message.body());
        ex.reusable = parser.keep_alive() && c.buffer.size() == 0;
        break;
    }
    tcpStream.expires_never();
    co_return ex;
}

} // namespace wix::inbox::detail
