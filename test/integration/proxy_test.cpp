// SPDX-License-Identifier: BSL-1.0
// Calls through a real HTTP proxy (Debian's tinyproxy, started by the test on loopback with
// Basic authentication) to the emulator: the tunnel, TLS verified end to end through it,
// one CONNECT per pooled connection, and typed failures that name the proxy.
#define BOOST_TEST_MODULE proxy
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "proxy.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace wix::inbox;
using namespace std::chrono_literals;
using emulator::Emulator;
namespace net = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr const char* password = "pr0xy-s3cret";

std::string tinyproxyPath()
{
    for (const char* p : {"/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"})
        if (fs::exists(p))
            return p;
    return {};
}

// A port nobody listens on (for a moment): bound, read, released.
std::uint16_t freePort()
{
    net::io_context ioc;
    net::ip::tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

bool accepts(std::uint16_t port)
{
    net::io_context ioc;
    net::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({net::ip::make_address("127.0.0.1"), port}, ec);
    return !ec;
}

// tinyproxy in the foreground, allowing CONNECT to `connectPort` only, for user:password.
class Tinyproxy {
public:
    explicit Tinyproxy(std::uint16_t connectPort) : port(freePort())
    {
        std::ofstream(dir_.path / "tinyproxy.conf") << "Port " << port << "\nListen 127.0.0.1\nTimeout 60\n"
                                                    << "LogFile \"" << (dir_.path / "tinyproxy.log").string()
                                                    << "\"\nLogLevel Connect\nMaxClients 200\n"
                                                    << "BasicAuth user " << password << "\nConnectPort " << connectPort
                                                    << "\n";
        pid_ = test::spawn(tinyproxyPath(), {"-d", "-c", (dir_.path / "tinyproxy.conf").string()}, dir_.path);
        for (int i = 0; i < 100 && !accepts(port); ++i)
            std::this_thread::sleep_for(50ms);
        if (!accepts(port))
            throw std::runtime_error("tinyproxy did not start: " + test::slurp(dir_.path / "stderr"));
    }
    ~Tinyproxy()
    {
        ::kill(pid_, SIGTERM);
        test::waitExitWithin(pid_, 5s);
    }

    std::string url(std::string_view user = "user", std::string_view pass = password) const
    {
        return "http://" + std::string(user) + ":" + std::string(pass) + "@127.0.0.1:" + std::to_string(port);
    }

    /// CONNECT requests it received, from its log.
    int connects() const
    {
        std::ifstream log(dir_.path / "tinyproxy.log");
        int n = 0;
        for (std::string line; std::getline(log, line);)
            n += line.find("]: Request (file descriptor") != std::string::npos && line.find(": CONNECT ") != std::string::npos;
        return n;
    }

    std::uint16_t port;

private:
    test::TempDir dir_;
    pid_t pid_ = -1;
};

bool haveTinyproxy()
{
    if (!tinyproxyPath().empty())
        return true;
    BOOST_TEST_MESSAGE("tinyproxy is not installed (apt-get install tinyproxy): proxy tests skipped");
    return false;
}

Result<GetOrCreateConversationResponse> callOnce(const ClientOptions& o)
{
    net::io_context ioc;
    return test::run(ioc, [&]() -> net::awaitable<Result<GetOrCreateConversationResponse>> {
        Client client(ioc.get_executor(), o);
        co_return co_await client.getOrCreateConversation(ParticipantId::member(test::guid(1)));
    }());
}

void expectNoSecret(const Error& e)
{
    BOOST_TEST(e.describe().find(password) == std::string::npos);
    BOOST_TEST(e.describe().find("wr0ng-s3cret") == std::string::npos);
}

} // namespace

BOOST_AUTO_TEST_CASE(calls_go_through_the_tunnel_with_the_origin_verified)
{
    if (!haveTinyproxy())
        return;
    Emulator emu;
    Tinyproxy proxy(emu.port());
    ClientOptions o = test::optionsFor(emu);
    o.proxy.url = proxy.url();
    const auto r = callOnce(o);
    BOOST_TEST_REQUIRE(r.has_value(), r.error().describe());
    BOOST_TEST(proxy.connects() == 1);
    BOOST_TEST(emu.stats().connectionsAccepted == 1u);

    // Verification still ends at the origin: without its CA the tunnel's TLS fails.
    o.tls.caFile.clear();
    o.retry.maxAttempts = 1;
    const auto untrusted = callOnce(o);
    BOOST_TEST_REQUIRE(!untrusted.has_value());
    BOOST_TEST(untrusted.error().code == make_error_code(Errc::tlsHandshakeFailed));
    BOOST_TEST(untrusted.error().message.find("through proxy 127.0.0.1:" + std::to_string(proxy.port))
               != std::string::npos, untrusted.error().message);
    expectNoSecret(untrusted.error());
}

BOOST_AUTO_TEST_CASE(wrong_or_missing_credentials_are_a_typed_proxy_error_without_the_secret)
{
    if (!haveTinyproxy())
        return;
    Emulator emu;
    Tinyproxy proxy(emu.port());
    ClientOptions o = test::optionsFor(emu);
    for (const auto& url : {proxy.url("user", "wr0ng-s3cret"), "http://127.0.0.1:" + std::to_string(proxy.port)}) {
        o.proxy.url = url;
        const auto r = callOnce(o);
        BOOST_TEST_REQUIRE(!r.has_value());
        BOOST_TEST(r.error().code == make_error_code(Errc::proxyAuthFailed), r.error().describe());
        BOOST_TEST(r.error().message.starts_with("proxy 127.0.0.1:" + std::to_string(proxy.port)), r.error().message);
        BOOST_TEST(r.error().attempts == 1); // credentials do not get better by retrying
        expectNoSecret(r.error());
    }
    BOOST_TEST(emu.stats().connectionsAccepted == 0u);
}

BOOST_AUTO_TEST_CASE(a_thousand_calls_over_n_pooled_connections_make_n_connects)
{
    if (!haveTinyproxy())
        return;
    Emulator emu;
    Tinyproxy proxy(emu.port());
    ClientOptions o = test::optionsFor(emu);
    o.proxy.url = proxy.url();
    o.pool.maxConnections = 4;
    net::io_context ioc;
    const auto pool = test::run(ioc, [&]() -> net::awaitable<PoolStats> {
        Client client(ioc.get_executor(), o);
        for (int round = 0; round < 10; ++round)
            for (const auto& r : co_await test::getOrCreateAll(client, 100, [round](int i) { return round * 100 + i; }))
                BOOST_TEST(r.has_value());
        co_return client.stats().pool;
    }());
    BOOST_TEST(pool.connectionsOpened <= 4u);
    // One CONNECT per connection the pool opened, failed to open (a handshake past its
    // deadline on a loaded machine), or was still opening for a waiter when the calls ended:
    // never one per call.
    const auto connects = static_cast<std::uint64_t>(proxy.connects());
    BOOST_TEST(connects >= pool.connectionsOpened);
    BOOST_TEST(connects <= 4u + pool.connectFailures);
    BOOST_TEST(emu.stats().connectionsAccepted >= pool.connectionsOpened);
    BOOST_TEST(emu.stats().connectionsAccepted <= connects);
    BOOST_TEST(emu.stats().requests == 1000u);
}

BOOST_AUTO_TEST_CASE(a_refused_tunnel_and_an_unreachable_proxy_name_the_proxy)
{
    if (!haveTinyproxy())
        return;
    Emulator emu;
    Tinyproxy proxy(emu.port() == 65535 ? 1 : emu.port() + 1); // CONNECT to the emulator is not allowed
    ClientOptions o = test::optionsFor(emu);
    o.proxy.url = proxy.url();
    const auto refused = callOnce(o);
    BOOST_TEST_REQUIRE(!refused.has_value());
    BOOST_TEST(refused.error().code == make_error_code(Errc::proxyFailed), refused.error().describe());
    BOOST_TEST(refused.error().message.find("proxy 127.0.0.1:") != std::string::npos);
    expectNoSecret(refused.error());

    o.proxy.url = "http://user:" + std::string(password) + "@127.0.0.1:" + std::to_string(freePort());
    o.retry.maxAttempts = 1;
    const auto unreachable = callOnce(o);
    BOOST_TEST_REQUIRE(!unreachable.has_value());
    BOOST_TEST(unreachable.error().code == make_error_code(Errc::connectFailed));
    BOOST_TEST(unreachable.error().message.find("proxy 127.0.0.1:") != std::string::npos, unreachable.error().message);
    expectNoSecret(unreachable.error());
    BOOST_TEST(emu.stats().connectionsAccepted == 0u);
}

BOOST_AUTO_TEST_CASE(a_proxy_that_never_answers_is_bounded_by_the_deadline)
{
    // Listening without accepting: the kernel completes the connect, nobody answers CONNECT.
    net::io_context ioc;
    net::ip::tcp::acceptor silent(ioc, {net::ip::make_address("127.0.0.1"), 0});
    Emulator emu;
    ClientOptions o = test::optionsFor(emu);
    o.proxy.url = "127.0.0.1:" + std::to_string(silent.local_endpoint().port()); // curl's scheme-less form
    o.timeout = 500ms;
    const auto start = std::chrono::steady_clock::now();
    const auto r = callOnce(o);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error().code == make_error_code(Errc::timeout), r.error().describe());
    BOOST_TEST((std::chrono::steady_clock::now() - start < 3s));
}

BOOST_AUTO_TEST_CASE(no_proxy_and_the_environment)
{
    Emulator emu;
    ClientOptions o = test::optionsFor(emu);
    o.proxy.url = "http://user:" + std::string(password) + "@127.0.0.1:" + std::to_string(freePort()); // nobody there
    for (const auto& list : {"*", "127.0.0.1", " example.com , 127.0.0.1 ", "[127.0.0.1]", "10.0.0.0/8,127.0.0.0/8",
                             "127.0.0.1/32", "127.0.0.0/9", "0.0.0.0/0"}) {
        o.proxy.noProxy = ProxyOptions::parseNoProxy(list);
        const auto r = callOnce(o);
        BOOST_TEST(r.has_value(), list);
    }
    o.retry.maxAttempts = 1;
    // Through the proxy, so failing: another address, a range that misses, a range of the
    // other family, a length too long for the family, a malformed length.
    for (const auto& list : {"127.0.0.10,example.com", "127.0.0.0/32", "128.0.0.0/1", "::/0", "127.0.0.0/33",
                             "127.0.0.0/", "127.0.0.0/8x"}) {
        o.proxy.noProxy = ProxyOptions::parseNoProxy(list);
        BOOST_TEST(!callOnce(o).has_value(), list);
    }

    // IPv6 ranges, by the rule the calls above used.
    using wix::inbox::detail::bypassesProxy;
    BOOST_TEST(bypassesProxy({"fd00::/8"}, "fd12::1", true));
    BOOST_TEST(bypassesProxy({"[::1]/128"}, "::1", true));
    BOOST_TEST(!bypassesProxy({"fd00::/8"}, "fe00::1", true));
    BOOST_TEST(!bypassesProxy({"::1/129"}, "::1", true));
    BOOST_TEST(!bypassesProxy({"10.0.0.0/8"}, "10.example.com", false)); // a range holds addresses only
    BOOST_TEST((ProxyOptions::parseNoProxy(" a.com,,.b.org ,") == std::vector<std::string>{"a.com", ".b.org"}));
    ::setenv("https_proxy", "http://p.example:3128", 1);
    ::setenv("NO_PROXY", "localhost,.corp", 1);
    const auto env = ProxyOptions::fromEnvironment();
    ::unsetenv("https_proxy");
    ::unsetenv("NO_PROXY");
    BOOST_TEST(env.url == "http://p.example:3128");
    BOOST_TEST((env.noProxy == std::vector<std::string>{"localhost", ".corp"}));
}

BOOST_AUTO_TEST_CASE(a_malformed_proxy_url_is_refused_without_repeating_it)
{
    net::io_context ioc;
    ClientOptions o;
    for (const auto& url : {"https://user:" + std::string(password) + "@proxy:3128",
                            "http://user:" + std::string(password) + "@proxy:3128/path", std::string("http://")}) {
        o.proxy.url = url;
        try {
            Client client(ioc.get_executor(), o);
            BOOST_TEST(false, "accepted " << url);
        } catch (const Exception& e) {
            BOOST_TEST(e.error().code == make_error_code(Errc::invalidArgument));
            BOOST_TEST(std::string(e.what()).find(password) == std::string::npos);
        }
    }
}
