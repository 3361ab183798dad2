// SPDX-License-Identifier: BSL-1.0
// The emulator's HTTPS listener: TLS, Beast sessions on a multi-threaded io_context, the
// faults that act on the connection, and the Emulator facade. Which code answers a request
// is in routes.cpp; the service's semantics in service.cpp.
#include "emulator/server.hpp"

#include "emulator/certificate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include <unistd.h>

namespace wix::inbox::emulator {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto useTuple = net::as_tuple(net::use_awaitable);

// Rates the token bucket cannot serve: below one request per period it never admits one.
void checkRate(const Faults& f)
{
    if (f.rateLimit != 0 && !(f.rateLimit >= 1 && f.rateLimitPeriod.count() > 0))
        throw std::invalid_argument("Faults::rateLimit must be 0 (no limit) or at least 1 request per period");
}

} // namespace

Emulator::Impl::Impl(Options options) : options_(std::move(options)), credentials_(options_.auth)
{
    checkRate(options_.faults);
    const Certificate cert = makeSelfSignedCertificate(options_.certificateNames);
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
    tls_.use_certificate_chain(net::buffer(cert.certificatePem));
    tls_.use_private_key(net::buffer(cert.privateKeyPem), ssl::context::pem);
    static const unsigned char sessionContext[] = "wix-inbox-emulator";
    SSL_CTX_set_session_id_context(tls_.native_handle(), sessionContext, sizeof sessionContext - 1);
    // OpenSSL's ~34 KiB of record buffers per connection are freed while it is idle.
    SSL_CTX_set_mode(tls_.native_handle(), SSL_MODE_RELEASE_BUFFERS);

    caFile = options_.caFile.empty() ? (tempDir_.path() / "ca.pem").string() : options_.caFile;
    try {
        startWebhooks(); // a bad webhook URL is refused before any file is written
        listen(cert.certificatePem);
    } catch (...) {
        tempDir_.remove(); // no destructor runs for a constructor that throws
        throw;
    }

    setFaults(options_.faults);
    requestIdPrefix_ = std::to_string(std::time(nullptr)) + "." + std::to_string(::getpid()) + ".";

    net::co_spawn(ioc_, accept(), [this](const std::exception_ptr& e) { report(e, "the accept loop"); });
    const unsigned threads = std::max(1u, options_.threads);
    for (unsigned i = 0; i < threads; ++i)
        threads_.emplace_back([this] { ioc_.run(); });
}

// Writes the CA file and binds: the steps that fail for reasons of the machine (a port in
// use, a directory not writable), each with one clear line.
void Emulator::Impl::listen(const std::string& caPem)
{
    writeFile(caFile, caPem, "CA file");
    boost::system::error_code ec;
    const auto ip = net::ip::make_address(options_.address, ec);
    if (ec)
        throw std::runtime_error("invalid address '" + options_.address + "'");
    const tcp::endpoint endpoint(ip, options_.port);
    const std::string where = options_.address + ":" + std::to_string(options_.port);
    if (acceptor_.open(endpoint.protocol(), ec) || acceptor_.set_option(net::socket_base::reuse_address(true), ec)
        || acceptor_.bind(endpoint, ec) || acceptor_.listen(net::socket_base::max_listen_connections, ec))
        throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    port = acceptor_.local_endpoint().port();
    address = options_.address;
}

void Emulator::Impl::startWebhooks()
{
    if (options_.webhookUrl.empty())
        return;
    if (!(options_.webhookResendScale >= 0 && options_.webhookResendScale <= 1))
        throw std::runtime_error("the webhook resend scale must be in [0, 1]");
    webhooks_ = std::make_unique<WebhookSender>(ioc_.get_executor(), options_.webhookUrl, options_.webhookResendScale,
                                                [this] { watch_.changed(); });
    webhookPublicKeyFile = options_.webhookPublicKeyFile.empty() ? (tempDir_.path() / "webhook-public-key.pem").string()
                                                                 : options_.webhookPublicKeyFile;
    writeFile(webhookPublicKeyFile, webhooks_->publicKeyPem(), "webhook public key file");
    service_.onEvent([sender = webhooks_.get()](const WebhookEvent& event) { sender->send(event); });
}

void Emulator::Impl::stop()
{
    std::call_once(stopped_, [this] {
        ioc_.stop();
        for (auto& t : threads_)
            t.join();
        tempDir_.remove();
    });
}

void Emulator::Impl::reset()
{
    service_.reset();
    limits_.reset();
    revokeTokens();
    credentials_.resetCounts();
    for (auto* counter : {&requests_, &handshakes_, &resumed_, &accepted_, &acceptFailures_, &connectionsRefused_,
                          &internalErrors_})
        counter->store(0);
    for (auto& c : byRoute_)
        c.store(0);
    for (auto& c : byStatus_)
        c.store(0);
    for (auto& c : faultCounts_)
        c.store(0);
    if (webhooks_)
        webhooks_->resetCounts();
    setFaults(faults());
    watch_.changed();
}

std::string Emulator::Impl::serialize(const ServiceResponse& r, bool keepAlive, std::chrono::milliseconds idle,
                                      bool idleHint)
{
    std::string out;
    out.reserve(192 + r.body.size());
    out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
    out.append(http::obsolete_reason(static_cast<http::status>(r.status)));
    out.append("\r\nContent-Type: application/json\r\nContent-Length: ").append(std::to_string(r.body.size()));
    out.append("\r\nX-Wix-Request-Id: ").append(requestIdPrefix_).append(std::to_string(++requestIds_)).append("\r\n");
    for (const auto& [name, value] : r.headers)
        out.append(name).append(": ").append(value).append("\r\n");
    if (!keepAlive)
        out.append("Connection: close\r\n");
    else if (idleHint)
        out.append("Keep-Alive: timeout=")
            .append(std::to_string(std::max<std::int64_t>(1, idle.count() / 1000)))
            .append("\r\n");
    out.append("\r\n").append(r.body);
    return out;
}

net::awaitable<void> Emulator::Impl::accept()
{
    net::steady_timer pause(ioc_);
    for (std::chrono::milliseconds backoff{0};;) {
        // Each session runs on its own strand: Beast streams are not safe across threads.
        auto executor = net::make_strand(ioc_);
        auto [ec, socket] = co_await acceptor_.async_accept(executor, useTuple);
        if (ec == net::error::operation_aborted || !acceptor_.is_open())
            co_return;
        if (ec) {
            // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS): trying again at once
            // would spin. Pause, longer each time, and keep serving the connections we have.
            ++acceptFailures_;
            watch_.changed();
            backoff = std::clamp(backoff * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
            pause.expires_after(backoff);
            co_await pause.async_wait(useTuple);
            continue;
        }
        backoff = {};
        ++accepted_;
        if (open_.load() >= options_.maxConnections) {
            ++connectionsRefused_; // the client sees the connection closed at once
            watch_.changed();
            continue;
        }
        ++open_;
        watch_.changed();
        net::co_spawn(executor, session(std::move(socket)), [this](const std::exception_ptr& e) {
            --open_;
            report(e, "a connection");
            watch_.changed();
        });
    }
}

void Emulator::Impl::report(const std::exception_ptr& e, std::string_view where)
{
    if (!e)
        return;
    ++internalErrors_;
    watch_.changed();
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "wix-inbox-emulator: %.*s failed: %s\n", static_cast<int>(where.size()), where.data(),
                     ex.what());
    }
}

// Answers a request that cannot be served (malformed, too large) and closes the connection.
net::awaitable<void> Emulator::Impl::refuse(Stream& stream, const Refusal& refusal)
{
    auto& tcpStream = beast::get_lowest_layer(stream);
    const ServiceResponse answer{refusal.status,
                                 refusal.status == 400
                                     ? validationErrorBody(refusal.message, "request", "FORMAT")
                                     : applicationErrorBody(refusal.message, "REQUEST_TOO_LARGE"),
                                 {}};
    count(unknownRoute, answer.status);
    tcpStream.expires_after(10s);
    co_await net::async_write(stream, net::buffer(serialize(answer, false, {}, false)), useTuple);
    // Lingering close: drain what the client is still sending, or closing now would reset
    // the connection and destroy the answer before the client reads it.
    co_await stream.async_shutdown(useTuple);
    tcpStream.expires_after(2s);
    char scratch[16 * 1024];
    for (std::size_t drained = 0; drained < 4 * options_.maxBodyBytes;) {
        auto [readError, n] = co_await tcpStream.async_read_some(net::buffer(scratch), useTuple);
        if (readError)
            break;
        drained += n;
    }
}

net::awaitable<void> Emulator::Impl::session(tcp::socket socket)
{
    Stream stream(std::move(socket), tls_);
    auto& tcpStream = beast::get_lowest_layer(stream);
    boost::system::error_code ignored;
    tcpStream.socket().set_option(tcp::no_delay(true), ignored);

    tcpStream.expires_after(10s);
    if (auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, useTuple); ec)
        co_return;
    ++(SSL_session_reused(stream.native_handle()) ? resumed_ : handshakes_);
    watch_.changed();

    RequestReader reader({options_.maxHeaderBytes, options_.maxBodyBytes});
    for (unsigned served = 1;; ++served) {
        const Faults f = faults();
        const auto idle = f.idleTimeout.count() > 0 ? f.idleTimeout : std::chrono::milliseconds(5min);
        reader.start();
        auto state = reader.parse();
        // Idle until the next request starts; then it must arrive whole in requestTimeout.
        if (state == RequestReader::State::needMore && !reader.hasBuffered()) {
            tcpStream.expires_after(idle);
            auto [idleError, got] = co_await stream.async_read_some(reader.prepare(), useTuple);
            if (idleError)
                co_return;
            state = reader.commit(got);
        }
        tcpStream.expires_after(options_.requestTimeout);
        while (state == RequestReader::State::needMore) {
            auto [readError, got] = co_await stream.async_read_some(reader.prepare(), useTuple);
            if (readError)
                co_return; // client closed, or the request did not arrive in time
            state = reader.commit(got);
        }
        if (state == RequestReader::State::refused) {
            co_await refuse(stream, reader.refusal());
            co_return;
        }

        const auto& request = reader.request();
        const bool keepAlive = request.keep_alive() && (f.closeAfterRequests == 0 || served < f.closeAfterRequests);
        Answer a = answer(request);

        if (a.latency.count() > 0) {
            net::steady_timer timer(co_await net::this_coro::executor);
            timer.expires_after(a.latency);
            co_await timer.async_wait(useTuple);
        }
        tcpStream.expires_after(30s);
        const std::string bytes = serialize(a.response, keepAlive, idle, f.idleTimeoutHint);
        switch (a.fault ? a.fault->delivery : Delivery::answer) {
        case Delivery::stall:
            // Never answer; wait for the client to give up (or the idle limit).
            tcpStream.expires_after(idle);
            for (;;)
                if (auto [e, n] = co_await stream.async_read_some(reader.prepare(), useTuple); e)
                    co_return;
                else if (reader.commit(n) != RequestReader::State::needMore)
                    reader.start(); // drop what arrives: the answer never comes
        case Delivery::close:
            co_return;
        case Delivery::lost:
            tcpStream.socket().set_option(net::socket_base::linger(true, 0), ignored);
            co_return;
        case Delivery::resetMidBody:
        case Delivery::truncate: {
            const std::size_t cut = bytes.size() - a.response.body.size() / 2;
            co_await net::async_write(stream, net::buffer(bytes.data(), cut), useTuple);
            if (a.fault->delivery == Delivery::resetMidBody)
                tcpStream.socket().set_option(net::socket_base::linger(true, 0), ignored);
            else
                co_await stream.async_shutdown(useTuple);
            co_return;
        }
        case Delivery::answer:
            break;
        }
        if (auto [writeError, written] = co_await net::async_write(stream, net::buffer(bytes), useTuple); writeError)
            co_return;
        if (!keepAlive)
            co_return;
    }
}

Emulator::Emulator(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Emulator::~Emulator() = default;

std::string Emulator::url() const
{
    const bool ipv6 = impl_->address.find(':') != std::string::npos;
    return "https://" + (ipv6 ? "[" + impl_->address + "]" : impl_->address) + ":" + std::to_string(impl_->port);
}
std::uint16_t Emulator::port() const
{
    return impl_->port;
}
const std::string& Emulator::caFile() const
{
    return impl_->caFile;
}
const std::string& Emulator::webhookPublicKeyFile() const
{
    return impl_->webhookPublicKeyFile;
}
Stats Emulator::stats() const
{
    return impl_->stats();
}

std::optional<Stats> Emulator::waitFor(const std::function<bool(const Stats&)>& reached,
                                       std::chrono::milliseconds timeout) const
{
    return impl_->waitFor(reached, timeout);
}
void Emulator::setFaults(const Faults& faults)
{
    checkRate(faults);
    impl_->setFaults(faults);
}
Faults Emulator::faults() const
{
    return impl_->faults();
}
void Emulator::reset()
{
    impl_->reset();
}
void Emulator::revokeTokens()
{
    impl_->revokeTokens();
}
Emulator::AdminAnswer Emulator::admin(std::string_view method, std::string_view path, std::string_view body)
{
    auto answer = impl_->admin(method, path, body);
    return {answer.status, std::move(answer.body)};
}
void Emulator::stop()
{
    impl_->stop();
}

} // namespace wix::inbox::emulator
