// SPDX-License-Identifier: BSL-1.0
// The emulator's insides behind <wix/inbox/emulator.hpp>: the HTTPS listener and its
// sessions (server.cpp), which code answers a request (routes.cpp), the statistics
// (stats.cpp). Who is calling is in credentials.hpp, the faults in fault_settings.hpp.
#pragma once

#include "emulator/credentials.hpp"
#include "emulator/fault_settings.hpp"
#include "emulator/output_files.hpp"
#include "emulator/request_reader.hpp"
#include "emulator/service.hpp"
#include "emulator/stats_watch.hpp"
#include "emulator/tenant_limits.hpp"
#include "emulator/webhook_sender.hpp"

#include <wix/inbox/emulator.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace wix::inbox::emulator {

/// What a request gets: the response, the fault drawn for it and the latency added.
struct Answer {
    ServiceResponse response;
    const FaultSetting* fault = nullptr;
    std::chrono::milliseconds latency{0};
};

class Emulator::Impl {
public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;

    explicit Impl(Options options);
    ~Impl() { stop(); }

    void stop();
    Stats stats() const;
    std::optional<Stats> waitFor(const std::function<bool(const Stats&)>& reached, std::chrono::milliseconds timeout) const;
    void setFaults(const Faults& f);
    Faults faults() const;
    void reset();
    void revokeTokens() { credentials_.revoke(); }
    /// An admin endpoint (/_emulator/...), in-process or over HTTPS.
    ServiceResponse admin(std::string_view method, std::string_view path, std::string_view body);

    std::uint16_t port = 0;
    std::string address;
    std::string caFile;
    std::string webhookPublicKeyFile;

private:
    using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    using tcp = boost::asio::ip::tcp;

    /// The endpoints besides the service's: the admin ones (never faulted, no credentials
    /// needed) and the OAuth token's (faulted as the API, no credentials needed).
    struct Endpoint {
        enum class Kind { admin, token };
        Kind kind;
        std::string_view method;
        std::string_view path;
        ServiceResponse (*handler)(Impl&, std::string_view body);
    };
    static const Endpoint endpoints[];
    static std::optional<ServiceResponse> notAllowed(std::string_view path);
    /// Requests are counted by the service's route, or as one of these two.
    static constexpr std::size_t adminRoute = Service::routes.size();
    static constexpr std::size_t unknownRoute = adminRoute + 1;

    // server.cpp: listening, TLS and the connections.
    void listen(const std::string& caPem);
    void startWebhooks();
    boost::asio::awaitable<void> accept();
    boost::asio::awaitable<void> session(tcp::socket socket);
    boost::asio::awaitable<void> refuse(Stream& stream, const Refusal& refusal);
    /// Writes an exception that ended a coroutine to stderr and counts it.
    void report(const std::exception_ptr& e, std::string_view where);
    std::string serialize(const ServiceResponse& r, bool keepAlive, std::chrono::milliseconds idle, bool idleHint);

    // routes.cpp: which code answers a request.
    Answer answer(const Request& request);
    /// An authenticated API request, within its tenant's rate limit, on its tenant's data.
    ServiceResponse serveTenant(const Request& request, const Presented& presented, const Faults& f);
    void recordHeaders(const Request& request);

    // stats.cpp
    void count(std::size_t route, int status); ///< a Service::routes index, adminRoute or unknownRoute
    static std::string_view routeName(std::size_t route);

    Options options_;
    TempDir tempDir_; // for the files no option places
    boost::asio::io_context ioc_;
    boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_server};
    tcp::acceptor acceptor_{ioc_};
    Service service_;
    Credentials credentials_;
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
    mutable StatsWatch watch_; // told after every change of the counters above and the webhooks'

    std::unique_ptr<WebhookSender> webhooks_; // with Options::webhookUrl

    std::mutex lastRequestMutex_; // with Options::recordRequestHeaders
    boost::json::array lastRequestHeaders_;
};

} // namespace wix::inbox::emulator
