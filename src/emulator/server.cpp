// The emulator's HTTPS server: Beast sessions on a multi-threaded io_context, with the
// admin endpoints and fault injection. The service semantics are in service.cpp.
#include "emulator/certificate.hpp"
#include "emulator/fault_settings.hpp"
#include "emulator/request_reader.hpp"
#include "emulator/service.hpp"
#include "emulator/tenant_limits.hpp"
#include "emulator/webhook_sender.hpp"

#include <wix/inbox/emulator.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace wix::inbox::emulator {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto useTuple = net::as_tuple(net::use_awaitable);

// Requests are counted by the service's route, or as one of these two.
constexpr std::size_t adminRoute = Service::routes.size();
constexpr std::size_t unknownRoute = adminRoute + 1;

std::string_view routeName(std::size_t route)
{
    return route < Service::routes.size() ? Service::routes[route].name : route == adminRoute ? "admin" : "unknown";
}

// Writes a whole file or throws naming it and why. Each write is checked: a full disk or
// /dev/full fails only there, after an open that succeeded.
void writeFile(const std::string& path, std::string_view text, std::string_view what)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int error = fd < 0 ? errno : 0;
    for (std::size_t done = 0; !error && done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno != EINTR)
            error = errno;
        done += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    if (fd >= 0 && ::close(fd) != 0 && !error)
        error = errno;
    if (error)
        throw std::runtime_error("cannot write the " + std::string(what) + " " + path + ": " + std::strerror(error));
}

// Rates the token bucket cannot serve: below one request per period it never admits one.
void checkRate(const Faults& f)
{
    if (f.rateLimit != 0 && !(f.rateLimit >= 1 && f.rateLimitPeriod.count() > 0))
        throw std::invalid_argument("Faults::rateLimit must be 0 (no limit) or at least 1 request per period");
}

struct Answer {
    ServiceResponse response;
    const FaultSetting* fault = nullptr; ///< the fault drawn, if any
    std::chrono::milliseconds latency{0};
};

} // namespace

class Emulator::Impl {
public:
    explicit Impl(Options options);
    ~Impl() { stop(); }

    void stop();
    Stats stats() const;
    void setFaults(const Faults& f);
    Faults faults() const
    {
        std::lock_guard lock(mutex_);
        return faults_;
    }
    void reset();
    void revokeTokens();

    std::uint16_t port = 0;
    std::string address;
    std::string caFile;
    std::string webhookPublicKeyFile;

private:
    using Stream = beast::ssl_stream<beast::tcp_stream>;

    void listen(const std::string& caPem);
    /// A directory of our own for the files no option places, made on first use.
    const std::filesystem::path& tempDir();
    void removeTempDir() noexcept;
    void startWebhooks();
    net::awaitable<void> accept();
    net::awaitable<void> session(tcp::socket socket);
    net::awaitable<void> refuse(Stream& stream, const Refusal& refusal);
    /// Writes an exception that ended a coroutine to stderr and counts it.
    void report(const std::exception_ptr& e, std::string_view where);
    Answer answer(const http::request<http::string_body>& request);
    std::optional<ServiceResponse> authenticate(const http::request<http::string_body>& request);
    /// Whose limit a request counts against, as a label fit for the stats (no secret in it).
    std::string tenantOf(const http::request<http::string_body>& request);
    ServiceResponse serveTenant(const http::request<http::string_body>& request, const Faults& f);
    ServiceResponse issueToken(std::string_view body);
public:
    ServiceResponse admin(std::string_view method, std::string_view path, std::string_view body);

private:
    std::string serialize(const ServiceResponse& r, bool keepAlive, std::chrono::milliseconds idle, bool idleHint);
    void count(std::size_t route, int status); // a Service::routes index, adminRoute or unknownRoute

    Options options_;
    std::filesystem::path tempDir_;
    net::io_context ioc_;
    ssl::context tls_{ssl::context::tls_server};
    tcp::acceptor acceptor_{ioc_};
    Service service_;
    std::vector<std::thread> threads_;
    std::once_flag stopped_;

    mutable std::mutex mutex_; // guards faults_ and random_
    Faults faults_;
    std::mt19937_64 random_;
    std::atomic<bool> faultsActive_{false};
    std::atomic<bool> limited_{false}; // a rate limit is set
    TenantLimits limits_;

    std::atomic<std::uint64_t> requests_{0}, accepted_{0}, handshakes_{0}, resumed_{0}, requestIds_{0};
    std::atomic<std::uint64_t> acceptFailures_{0}, connectionsRefused_{0}, internalErrors_{0};
    std::atomic<std::size_t> open_{0}; // connections being served
    std::array<std::atomic<std::uint64_t>, unknownRoute + 1> byRoute_{};
    std::array<std::atomic<std::uint64_t>, 600> byStatus_{};
    std::vector<std::atomic<std::uint64_t>> faultCounts_ =
        std::vector<std::atomic<std::uint64_t>>(faultSettings().size()); // by faultSettings() row
    std::string requestIdPrefix_;

    std::mutex tokensMutex_;
    struct IssuedToken {
        Clock::time_point expiry;
        std::string instanceId;
    };
    std::unordered_map<std::string, IssuedToken> tokens_; // issued OAuth tokens
    std::atomic<std::uint64_t> tokensIssued_{0}, authRejected_{0};

    std::unique_ptr<WebhookSender> webhooks_; // with Options::webhookUrl

    std::mutex lastRequestMutex_; // with Options::recordRequestHeaders
    boost::json::array lastRequestHeaders_;
};

Emulator::Impl::Impl(Options options) : options_(std::move(options))
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

    caFile = options_.caFile.empty() ? (tempDir() / "ca.pem").string() : options_.caFile;
    try {
        startWebhooks(); // a bad webhook URL is refused before any file is written
        listen(cert.certificatePem);
    } catch (...) {
        removeTempDir(); // no destructor runs for a constructor that throws
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

const std::filesystem::path& Emulator::Impl::tempDir()
{
    if (tempDir_.empty()) {
        const char* tmpdir = std::getenv("TMPDIR");
        const std::filesystem::path base = tmpdir && *tmpdir ? tmpdir : "/tmp";
        std::string pattern = (base / "wix-inbox-emulator-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("cannot create a temporary directory in " + base.string() + ": "
                                     + std::strerror(errno));
        tempDir_ = pattern;
    }
    return tempDir_;
}

void Emulator::Impl::startWebhooks()
{
    if (options_.webhookUrl.empty())
        return;
    if (!(options_.webhookResendScale >= 0 && options_.webhookResendScale <= 1))
        throw std::runtime_error("the webhook resend scale must be in [0, 1]");
    webhooks_ = std::make_unique<WebhookSender>(ioc_.get_executor(), options_.webhookUrl, options_.webhookResendScale);
    webhookPublicKeyFile = options_.webhookPublicKeyFile.empty() ? (tempDir() / "webhook-public-key.pem").string()
                                                                 : options_.webhookPublicKeyFile;
    writeFile(webhookPublicKeyFile, webhooks_->publicKeyPem(), "webhook public key file");
    service_.onEvent([sender = webhooks_.get()](const WebhookEvent& event) { sender->send(event); });
}

void Emulator::Impl::removeTempDir() noexcept
{
    if (!tempDir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(tempDir_, ignored);
    }
}

void Emulator::Impl::stop()
{
    std::call_once(stopped_, [this] {
        ioc_.stop();
        for (auto& t : threads_)
            t.join();
        removeTempDir();
    });
}

void Emulator::Impl::setFaults(const Faults& f)
{
    std::lock_guard lock(mutex_);
    faults_ = f;
    random_.seed(f.seed);
    limited_ = f.rateLimit > 0;
    faultsActive_ = f.latencyMax.count() > 0 || std::any_of(faultSettings().begin(), faultSettings().end(), [&](const FaultSetting& s) {
                        return s.isFault() && std::get<double>(s.get(f)) > 0;
                    });
}

void Emulator::Impl::reset()
{
    service_.reset();
    limits_.reset();
    revokeTokens();
    for (auto* counter : {&requests_, &handshakes_, &resumed_, &accepted_, &tokensIssued_, &authRejected_,
                          &acceptFailures_, &connectionsRefused_, &internalErrors_})
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
}

Stats Emulator::Impl::stats() const
{
    Stats s;
    s.requests = requests_.load();
    s.connectionsAccepted = accepted_.load();
    s.connectionsOpen = open_.load();
    s.connectionsRefused = connectionsRefused_.load();
    s.acceptFailures = acceptFailures_.load();
    s.internalErrors = internalErrors_.load();
    s.tlsHandshakes = handshakes_.load();
    s.tlsResumed = resumed_.load();
    for (std::size_t i = 0; i < byRoute_.size(); ++i)
        if (const auto n = byRoute_[i].load())
            s.byRoute[std::string(routeName(i))] = n;
    for (std::size_t i = 0; i < byStatus_.size(); ++i)
        if (const auto n = byStatus_[i].load())
            s.byStatus[static_cast<int>(i)] = n;
    for (std::size_t i = 0; i < faultCounts_.size(); ++i)
        if (const auto n = faultCounts_[i].load())
            s.faults[std::string(faultSettings()[i].name)] = n;
    s.conversations = service_.conversationCount();
    s.messages = service_.messageCount();
    s.tokensIssued = tokensIssued_.load();
    s.authRejected = authRejected_.load();
    s.throttledByTenant = limits_.throttled();
    if (webhooks_) {
        const auto w = webhooks_->counts();
        s.webhooksDelivered = w.delivered;
        s.webhookFailedAttempts = w.failedAttempts;
        s.webhooksAbandoned = w.abandoned;
        s.webhooksPending = w.pending;
    }
    return s;
}

void Emulator::Impl::count(std::size_t route, int status)
{
    ++requests_;
    ++byRoute_[route];
    if (status >= 0 && status < static_cast<int>(byStatus_.size()))
        ++byStatus_[static_cast<std::size_t>(status)];
}

ServiceResponse Emulator::Impl::admin(std::string_view method, std::string_view path, std::string_view body)
{
    if (path == "/_emulator/stats" && method == "GET")
        return {200, toJson(stats()), {}};
    if (path == "/_emulator/last-request" && method == "GET") {
        std::lock_guard lock(lastRequestMutex_);
        return {200, boost::json::serialize(boost::json::object{{"headers", lastRequestHeaders_}}), {}};
    }
    if (path == "/_emulator/faults" && method == "GET")
        return {200, toJson(faults()), {}};
    if (path == "/_emulator/faults" && method == "POST") {
        Faults f = faults();
        if (const auto problem = applyFaultsJson(body, f))
            return {400, validationErrorBody(problem->message, problem->field, "FORMAT"), {}};
        setFaults(f);
        return {200, toJson(f), {}};
    }
    if (path == "/_emulator/reset" && method == "POST") {
        reset();
        return {200, "{}", {}};
    }
    if (path == "/_emulator/promote" && method == "POST")
        return service_.promote(body);
    if (path == "/_emulator/seed" && method == "POST")
        return service_.seed(body);
    if (path == "/_emulator/inbox" && method == "POST")
        return service_.setInbox(body);
    if (path == "/_emulator/participant-message" && method == "POST")
        return service_.participantMessage(body);
    if (path == "/_emulator/press-button" && method == "POST")
        return service_.pressButton(body);
    if (path == "/_emulator/revoke-tokens" && method == "POST") {
        revokeTokens();
        return {200, "{}", {}};
    }
    return {404, applicationErrorBody("no such admin endpoint", "NOT_FOUND"), {}};
}

void Emulator::Impl::revokeTokens()
{
    std::lock_guard lock(tokensMutex_);
    tokens_.clear();
}

ServiceResponse Emulator::Impl::issueToken(std::string_view body)
{
    boost::system::error_code ec;
    const auto root = boost::json::parse(body, ec);
    const auto* o = (!ec && root.is_object()) ? &root.get_object() : nullptr;
    auto field = [&](std::string_view key) -> std::string {
        const auto* v = o ? o->if_contains(key) : nullptr;
        return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
    };
    if (!o || field("grant_type") != "client_credentials" || field("client_id").empty())
        return {400, validationErrorBody("grant_type client_credentials with client_id is required", "grant_type",
                                         "REQUIRED_FIELD"),
                {}};
    const auto app = options_.auth.apps.find(field("client_id"));
    if (app == options_.auth.apps.end() || app->second != field("client_secret") || field("instance_id").empty()) {
        ++authRejected_;
        return {401, applicationErrorBody("invalid client credentials", "UNAUTHENTICATED"), {}};
    }
    thread_local std::mt19937_64 random{std::random_device{}()};
    char token[40];
    std::snprintf(token, sizeof token, "emu-%016llx%016llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random()));
    {
        std::lock_guard lock(tokensMutex_);
        tokens_[token] = {Clock::now() + options_.auth.tokenLifetime, field("instance_id")};
    }
    ++tokensIssued_;
    return {200,
            boost::json::serialize(boost::json::object{{"access_token", token},
                                                       {"token_type", "Bearer"},
                                                       {"expires_in", options_.auth.tokenLifetime.count()}}),
            {}};
}

// Nothing when the request may proceed; otherwise the 401/403 to send.
std::optional<ServiceResponse> Emulator::Impl::authenticate(const http::request<http::string_body>& request)
{
    const auto& auth = options_.auth;
    if (!auth.required)
        return std::nullopt;
    const std::string presented(request[http::field::authorization]);
    auto reject = [&](int status, std::string_view message, std::string_view code) {
        ++authRejected_;
        return ServiceResponse{status, applicationErrorBody(message, code), {}};
    };
    if (presented.empty())
        return reject(401, "missing Authorization header", "UNAUTHENTICATED");
    auto listed = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), presented) != v.end(); };
    if (listed(auth.apiKeys)) {
        if (request["wix-site-id"].empty() && request["wix-account-id"].empty())
            return reject(403, "an API key needs wix-site-id or wix-account-id", "MISSING_SITE_OR_ACCOUNT_ID");
        return std::nullopt;
    }
    if (listed(auth.accessTokens))
        return std::nullopt;
    {
        std::lock_guard lock(tokensMutex_);
        const auto it = tokens_.find(presented);
        if (it != tokens_.end() && Clock::now() < it->second.expiry)
            return std::nullopt;
    }
    return reject(401, "invalid or expired credentials", "UNAUTHENTICATED");
}

std::string Emulator::Impl::tenantOf(const http::request<http::string_body>& request)
{
    const std::string presented(request[http::field::authorization]);
    if (presented.empty())
        return "anonymous";
    {
        std::lock_guard lock(tokensMutex_);
        if (const auto it = tokens_.find(presented); it != tokens_.end())
            return "instance:" + it->second.instanceId;
    }
    if (const auto site = request["wix-site-id"]; !site.empty())
        return "site:" + std::string(site);
    if (const auto account = request["wix-account-id"]; !account.empty())
        return "account:" + std::string(account);
    char label[32]; // a static token: named by a hash, never by itself
    std::snprintf(label, sizeof label, "token:%016zx", std::hash<std::string>{}(presented));
    return label;
}

// An authenticated API request, within its tenant's rate limit, on its tenant's data.
ServiceResponse Emulator::Impl::serveTenant(const http::request<http::string_body>& request, const Faults& f)
{
    const std::string tenant = tenantOf(request);
    const Rate rate{f.rateLimit, f.rateLimitPeriod};
    if (limits_.admit(tenant, rate, Clock::now()))
        return service_.handle({request.method_string(), request.target(), request.body(), tenant});
    ServiceResponse r{429, applicationErrorBody("Too many requests", "TOO_MANY_REQUESTS"), {}};
    if (f.rateLimitRetryAfter) // one request's worth of refill, rounded up
        r.headers.emplace_back("Retry-After", std::to_string(static_cast<long long>(std::ceil(
                                                  std::chrono::duration<double>(rate.period).count() / rate.limit))));
    return r;
}

Answer Emulator::Impl::answer(const http::request<http::string_body>& request)
{
    const std::string_view method = request.method_string();
    const std::string_view target = request.target();
    const std::string_view body = request.body();
    Answer a;
    const std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with("/_emulator/")) {
        a.response = admin(method, path, body);
        count(adminRoute, a.response.status);
        return a;
    }

    if (options_.recordRequestHeaders) {
        std::lock_guard lock(lastRequestMutex_);
        lastRequestHeaders_.clear();
        for (const auto& field : request)
            if (field.name() != http::field::authorization)
                lastRequestHeaders_.push_back(boost::json::array{field.name_string(), field.value()});
    }
    Faults f;
    double draw = 1.0;
    if (limited_.load(std::memory_order_relaxed)) {
        std::lock_guard lock(mutex_);
        f.rateLimit = faults_.rateLimit;
        f.rateLimitPeriod = faults_.rateLimitPeriod;
        f.rateLimitRetryAfter = faults_.rateLimitRetryAfter;
    }
    if (faultsActive_.load(std::memory_order_relaxed)) {
        std::lock_guard lock(mutex_);
        f = faults_;
        draw = std::uniform_real_distribution<double>(0, 1)(random_);
        if (f.latencyMax.count() > 0)
            a.latency = std::chrono::milliseconds(
                std::uniform_int_distribution<std::int64_t>(f.latencyMin.count(), f.latencyMax.count())(random_));
    }
    double cumulative = 0;
    for (const auto& setting : faultSettings()) {
        if (!setting.isFault())
            continue;
        cumulative += std::get<double>(setting.get(f));
        if (draw < cumulative) {
            a.fault = &setting;
            break;
        }
    }

    if (a.fault && a.fault->respond) {
        a.response = a.fault->respond(f);
    } else {
        // Served even when the answer is to be lost, cut or never sent.
        if (path == "/oauth2/token" || path == "/crm/oauth2/token") {
            a.response = method == "POST" ? issueToken(body)
                                          : ServiceResponse{405, applicationErrorBody("method not allowed", "METHOD_NOT_ALLOWED"), {}};
        } else if (auto refused = authenticate(request)) {
            a.response = std::move(*refused);
        } else {
            a.response = serveTenant(request, f);
        }
    }
    if (a.fault)
        ++faultCounts_[static_cast<std::size_t>(a.fault - faultSettings().data())];
    count(Service::routeOf(method, target).value_or(unknownRoute), a.response.status);
    return a;
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
            backoff = std::clamp(backoff * 2, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
            pause.expires_after(backoff);
            co_await pause.async_wait(useTuple);
            continue;
        }
        backoff = {};
        ++accepted_;
        if (open_.load() >= options_.maxConnections) {
            ++connectionsRefused_; // the client sees the connection closed at once
            continue;
        }
        ++open_;
        net::co_spawn(executor, session(std::move(socket)), [this](const std::exception_ptr& e) {
            --open_;
            report(e, "a connection");
        });
    }
}

void Emulator::Impl::report(const std::exception_ptr& e, std::string_view where)
{
    if (!e)
        return;
    ++internalErrors_;
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
