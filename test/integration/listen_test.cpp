// SPDX-License-Identifier: BSL-1.0
// `wix-inbox listen` as users run it: a child process on loopback that the standalone emulator
// delivers its webhooks to, and that the tests POST to themselves (forged, repeated, oversized
// bodies), over real sockets. Waits are on conditions (a child's output, an answer), bounded.
#define BOOST_TEST_MODULE listen
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "raw_client.hpp"
#include "support.hpp"
#include "webhook_receiver.hpp"
#include "webhook_signer.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
namespace json = boost::json;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace inbox = wix::inbox;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Args = std::vector<std::string>;
using namespace std::chrono_literals;

namespace {

constexpr auto noThrow = net::as_tuple(net::use_awaitable);
const auto loopback = net::ip::make_address("127.0.0.1");

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

std::size_t lineCount(const std::string& text)
{
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Reads a child's output file until `done` holds (bounded): a child's file has no event to
// wait on.
std::string waitFor(const fs::path& file, const std::function<bool(const std::string&)>& done, const std::string& what)
{
    const auto giveUp = Clock::now() + 20s;
    for (;;) {
        auto text = test::slurp(file);
        if (done(text))
            return text;
        BOOST_REQUIRE_MESSAGE(Clock::now() < giveUp, what + " did not happen; the file holds: " + text);
        std::this_thread::sleep_for(10ms);
    }
}

std::string firstLine(const fs::path& file, const std::string& what)
{
    const auto text = waitFor(file, [](const std::string& t) { return contains(t, "\n"); }, what);
    return text.substr(0, text.find('\n'));
}

unsigned short portOf(const std::string& url)
{
    return static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// `wix-inbox listen --port 0` with its output in files; stopped (SIGTERM) when the test ends.
class Listener {
public:
    explicit Listener(const std::string& keyFile, const Args& more = {})
    {
        Args args{"listen", "--port", "0", "--public-key", keyFile};
        args.insert(args.end(), more.begin(), more.end());
        pid_ = test::spawn(WIX_INBOX_CLI, args, dir.path);
        const auto line = json::parse(firstLine(dir.path / "stderr", "listen's start")).as_object();
        url = std::string(line.at("listening").as_string());
        port = portOf(url);
    }
    ~Listener()
    {
        if (pid_ > 0)
            stop(SIGTERM);
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    /// The exit status after `signal`.
    int stop(int signal)
    {
        ::kill(pid_, signal);
        const int status = test::waitExitWithin(pid_, 20s);
        pid_ = -1;
        return status;
    }
    /// The events printed, once there are at least `n`.
    std::vector<std::string> events(std::size_t n) const
    {
        const auto text = waitFor(dir.path / "stdout", [n](const std::string& t) { return lineCount(t) >= n; },
                                  std::to_string(n) + " events printed");
        std::vector<std::string> out;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);)
            out.push_back(line);
        return out;
    }
    std::string out() const { return test::slurp(dir.path / "stdout"); }
    std::string err() const { return test::slurp(dir.path / "stderr"); }
    /// Standard error, once it holds `part`.
    std::string errOnce(const std::string& part) const
    {
        return waitFor(dir.path / "stderr", [&](const std::string& t) { return contains(t, part); }, "'" + part + "'");
    }

    test::TempDir dir;
    std::string url;
    unsigned short port = 0;

private:
    pid_t pid_ = -1;
};

// The standalone emulator, delivering its webhooks to `webhookUrl`; stopped when the test ends.
class StandaloneEmulator {
public:
    explicit StandaloneEmulator(const std::string& webhookUrl)
    {
        pid_ = test::spawn(WIX_INBOX_EMULATOR, {"--port", "0", "--webhook-url", webhookUrl}, dir.path);
        const auto line = json::parse(firstLine(dir.path / "stdout", "the emulator's start")).as_object();
        url = std::string(line.at("url").as_string());
        caFile = std::string(line.at("ca_file").as_string());
        keyFile = std::string(line.at("webhook_public_key_file").as_string());
        port = portOf(url);
    }
    ~StandaloneEmulator()
    {
        ::kill(pid_, SIGTERM);
        test::waitExitWithin(pid_, 20s);
    }
    StandaloneEmulator(const StandaloneEmulator&) = delete;
    StandaloneEmulator& operator=(const StandaloneEmulator&) = delete;

    test::TempDir dir;
    std::string url, caFile, keyFile;
    unsigned short port = 0;

private:
    pid_t pid_ = -1;
};

// The emulator takes its webhook URL at start and makes its signing key at start, and listen
// needs that key at start: the emulator delivers to this relay (started first), which passes
// each connection's bytes on to listen once listen is up.
class Relay {
public:
    Relay() : acceptor_(ioc_, {loopback, 0})
    {
        net::co_spawn(ioc_, accept(), reportTo(failures_));
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~Relay()
    {
        ioc_.stop();
        thread_.join();
        BOOST_TEST(failures_ == 0);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/webhooks"; }
    void to(unsigned short port) { to_ = port; }

private:
    static std::function<void(std::exception_ptr)> reportTo(std::atomic<int>& failures)
    {
        return [&failures](const std::exception_ptr& e) {
            if (e)
                ++failures;
        };
    }

    net::awaitable<void> accept()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(noThrow);
            if (ec)
                co_return;
            auto in = std::make_shared<tcp::socket>(std::move(socket));
            auto out = std::make_shared<tcp::socket>(ioc_);
            if (auto [connectError] = co_await out->async_connect({loopback, to_.load()}, noThrow); connectError)
                continue; // listen is not up: the emulator sees a failed delivery and resends
            net::co_spawn(ioc_, pipe(in, out), reportTo(failures_));
            net::co_spawn(ioc_, pipe(out, in), reportTo(failures_));
        }
    }

    static net::awaitable<void> pipe(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to)
    {
        std::array<char, 16 * 1024> chunk;
        for (;;) {
            auto [ec, n] = co_await from->async_read_some(net::buffer(chunk), noThrow);
            boost::system::error_code ignored;
            if (ec) {
                to->shutdown(tcp::socket::shutdown_send, ignored);
                co_return;
            }
            if (auto [writeError, m] = co_await net::async_write(*to, net::buffer(chunk.data(), n), noThrow); writeError)
                co_return;
        }
    }

    net::io_context ioc_;
    tcp::acceptor acceptor_;
    std::atomic<unsigned short> to_{0};
    std::atomic<int> failures_{0};
    std::thread thread_;
};

struct Answer {
    int status = 0; ///< 0: no answer
    std::string allow;
};

// One request on a connection of its own, with a 10 s deadline.
Answer exchange(unsigned short port, http::verb method, const std::string& body)
{
    net::io_context ioc;
    Answer answer;
    std::exception_ptr failure;
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
        beast::tcp_stream stream(ioc);
        stream.expires_after(10s);
        co_await stream.async_connect(tcp::endpoint(loopback, port), net::use_awaitable);
        http::request<http::string_body> request{method, "/webhooks", 11};
        request.set(http::field::host, "127.0.0.1");
        request.body() = body;
        request.prepare_payload();
        co_await http::async_write(stream, request, net::use_awaitable);
        beast::flat_buffer buffer;
        http::response<http::string_body> response;
        co_await http::async_read(stream, buffer, response, net::use_awaitable);
        answer.status = response.result_int();
        answer.allow = std::string(response[http::field::allow]);
    }, [&](const std::exception_ptr& e) { failure = e; });
    ioc.run();
    if (failure)
        std::rethrow_exception(failure);
    return answer;
}

int post(unsigned short port, const std::string& body)
{
    return exchange(port, http::verb::post, body).status;
}

// A key of the test's own, as an app's public key file.
struct AppKey {
    explicit AppKey(const fs::path& dir) : file((dir / "key.pem").string())
    {
        std::ofstream(file) << test::publicPem(key.get());
    }
    test::Key key = test::newKey();
    std::string file;
};

// A webhook body as Wix signs it: an event of `eventType` with the domain event's `id`.
std::string signedBody(EVP_PKEY* key, const std::string& eventId,
                       const std::string& eventType = std::string(inbox::webhooks::conversationsMergedType))
{
    const std::string event = json::serialize(json::object{
        {"id", eventId},
        {"eventTime", "2026-12-02T08:00:00Z"},
        {"actionEvent", {{"body", {{"oldConversationIds", {test::guid(1)}}, {"targetConversationId", test::guid(2)}}}}}});
    const std::string envelope = json::serialize(json::object{
        {"eventType", eventType}, {"instanceId", test::guid(3)}, {"data", event}, {"identity", R"({"identityType":"APP"})"}});
    const std::string signedPart = test::base64url(R"({"alg":"RS256"})") + "."
                                 + test::base64url(json::serialize(json::object{{"data", envelope}}));
    return signedPart + "." + test::base64url(test::rs256(key, signedPart));
}

} // namespace

BOOST_AUTO_TEST_CASE(a_merge_in_the_emulator_arrives_as_one_ndjson_line)
{
    Relay relay;
    StandaloneEmulator emu(relay.url());
    Listener listen(emu.keyFile);
    relay.to(listen.port);

    const std::string site = test::guid(900);
    net::io_context ioc;
    inbox::ClientOptions options;
    options.baseUrl = emu.url;
    options.tls.caFile = emu.caFile;
    options.credentials = inbox::ApiKey{"a-key", site, {}};
    inbox::Client client(ioc.get_executor(), options);
    const auto old = test::run(ioc, client.getOrCreateConversation(inbox::ParticipantId::anonymousVisitor(test::guid(1))));
    const auto target = test::run(ioc, client.getOrCreateConversation(inbox::ParticipantId::member(test::guid(2))));
    BOOST_REQUIRE(old && target);
    const auto promoted = test::rawExchange(
        emu.port, emu.caFile,
        test::rawRequest("POST", "/_emulator/promote",
                         R"({"tenant":"site:)" + site + R"(","from":{"anonymousVisitorId":")" + test::guid(1)
                             + R"("},"to":{"memberId":")" + test::guid(2) + R"("}})"));
    BOOST_REQUIRE_MESSAGE(promoted.status == 200, promoted.body);

    const auto events = listen.events(1);
    BOOST_REQUIRE(events.size() == 1u);
    const auto line = json::parse(events[0]).as_object();
    BOOST_TEST(line.at("type").as_string() == inbox::webhooks::conversationsMergedType);
    BOOST_TEST(inbox::isValidGuid(line.at("eventId").as_string()));
    BOOST_TEST(inbox::isValidGuid(line.at("instanceId").as_string()));
    const auto& data = line.at("data").as_object();
    BOOST_TEST(data.at("oldConversationIds") == json::value(json::array{json::value(old->conversation.id)}));
    BOOST_TEST(data.at("targetConversationId").as_string() == target->conversation.id);
    BOOST_TEST(data.at("accountInfo").as_object().at("siteId").as_string() == site);
    BOOST_TEST(!data.contains("eventType"));

    BOOST_TEST(listen.stop(SIGINT) == 0);
    BOOST_TEST(contains(listen.err(), "stopped: 1 events printed"), listen.err());
    BOOST_TEST(lineCount(listen.out()) == 1u);
}

BOOST_AUTO_TEST_CASE(a_forged_body_is_refused_with_400_and_a_line_that_holds_no_body)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    fs::create_directory(dir.path / "other");
    const AppKey other(dir.path / "other");
    Listener listen(app.file);

    const std::string secret = "PII-jane_doe@example";
    const std::string byAnother = signedBody(other.key.get(), secret);
    const std::string garbage = "garbage " + secret + "\x1b[31m";
    BOOST_TEST(post(listen.port, byAnother) == 400);
    listen.errOnce("the signature does not verify with the app's public key");
    BOOST_TEST(post(listen.port, garbage) == 400);
    const auto err = listen.errOnce("body is not a JWT");
    BOOST_TEST(lineCount(err) == 3u, err); // the listening line, one line for each refusal
    BOOST_TEST(!contains(err, secret), err);
    BOOST_TEST(!contains(err, byAnother.substr(0, 20)), err);
    BOOST_TEST(!contains(err, "\x1b"), err);
    BOOST_TEST(contains(err, "refused a webhook from 127.0.0.1:"), err);
    BOOST_TEST(listen.out().empty());
    BOOST_TEST(listen.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(a_redelivered_event_is_printed_once)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    Listener listen(app.file);
    const auto body = signedBody(app.key.get(), "ev-1");
    BOOST_TEST(post(listen.port, body) == 200);
    BOOST_TEST(post(listen.port, body) == 200); // answered only after it was handled
    BOOST_TEST(post(listen.port, signedBody(app.key.get(), "ev-2")) == 200);
    const auto events = listen.events(2);
    BOOST_REQUIRE(events.size() == 2u);
    BOOST_TEST(json::parse(events[0]).as_object().at("eventId").as_string() == "ev-1");
    BOOST_TEST(json::parse(events[1]).as_object().at("eventId").as_string() == "ev-2");
    BOOST_TEST(listen.stop(SIGTERM) == 0);
    BOOST_TEST(contains(listen.err(), "stopped: 2 events printed, 1 redeliveries dropped"), listen.err());
}

// Types the library does not decode are printed with their envelope, and de-duplicated by the
// domain event's id inside it.
BOOST_AUTO_TEST_CASE(an_event_of_another_type_is_printed_with_its_envelope)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    Listener listen(app.file);
    const auto body = signedBody(app.key.get(), "ev-other", "wix.example.v1.thing_happened");
    BOOST_TEST(post(listen.port, body) == 200);
    BOOST_TEST(post(listen.port, body) == 200);
    const auto line = json::parse(listen.events(1).at(0)).as_object();
    BOOST_TEST(line.at("type").as_string() == "wix.example.v1.thing_happened");
    BOOST_TEST(line.at("eventId").as_string() == "ev-other");
    BOOST_TEST(line.at("instanceId").as_string() == test::guid(3));
    BOOST_TEST(line.at("data").as_object().at("eventType").as_string() == "wix.example.v1.thing_happened");
    BOOST_TEST(lineCount(listen.out()) == 1u);
}

BOOST_AUTO_TEST_CASE(oversized_bodies_get_413_and_other_methods_405)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    Listener listen(app.file);
    BOOST_TEST(post(listen.port, std::string(inbox::webhooks::maxBodyBytes + 1, 'a')) == 413);
    const auto get = exchange(listen.port, http::verb::get, "");
    BOOST_TEST(get.status == 405);
    BOOST_TEST(get.allow == "POST");
    BOOST_TEST(exchange(listen.port, http::verb::put, signedBody(app.key.get(), "ev-put")).status == 405);
    BOOST_TEST(post(listen.port, signedBody(app.key.get(), "ev-after")) == 200); // still serving
    BOOST_TEST(lineCount(listen.out()) == 1u);
    BOOST_TEST(contains(listen.err(), "answered 413: the body is larger than 262144 bytes"), listen.err());
}

// 256 connections may be open; more are accepted and closed at once, and a slot freed is usable.
BOOST_AUTO_TEST_CASE(connections_beyond_the_bound_are_closed)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    Listener listen(app.file);
    net::io_context ioc;
    std::vector<tcp::socket> open;
    for (int i = 0; i < 256; ++i) {
        open.emplace_back(ioc);
        open.back().connect({loopback, listen.port});
    }
    tcp::socket extra(ioc);
    extra.connect({loopback, listen.port});
    char byte = 0;
    boost::system::error_code ec;
    net::read(extra, net::buffer(&byte, 1), ec); // accepted after the 256 (in order), then closed
    BOOST_TEST((ec == net::error::eof || ec == net::error::connection_reset), ec.message());
    listen.errOnce("256 connections open: closing new ones");
    open.clear();
    // Until listen has seen those closes, a new connection may still be turned away.
    const auto giveUp = Clock::now() + 20s;
    int status = 0;
    while (status == 0 && Clock::now() < giveUp) {
        try {
            status = post(listen.port, signedBody(app.key.get(), "ev-free"));
        } catch (const boost::system::system_error&) {
            std::this_thread::sleep_for(10ms);
        }
    }
    BOOST_TEST(status == 200);
}

BOOST_AUTO_TEST_CASE(forward_to_posts_the_printed_json_after_answering)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    test::WebhookReceiver app_server;
    Listener listen(app.file, {"--forward-to", app_server.url()});
    BOOST_TEST(post(listen.port, signedBody(app.key.get(), "ev-fwd")) == 200);
    const auto forwarded = app_server.bodies(1);
    BOOST_REQUIRE(forwarded.size() == 1u);
    BOOST_TEST(forwarded[0] == listen.events(1).at(0));
    BOOST_TEST(json::parse(forwarded[0]).as_object().at("eventId").as_string() == "ev-fwd");
}

BOOST_AUTO_TEST_CASE(a_forward_that_fails_is_reported_and_the_sender_still_gets_200)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    net::io_context ioc;
    // A port bound but not listening: connections to it are refused, and while it stays
    // bound no listener (the one under test included) can take it.
    tcp::acceptor closed(ioc);
    closed.open(tcp::v4());
    closed.bind({loopback, 0});
    const auto nobody = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port()) + "/hooks";
    Listener listen(app.file, {"--forward-to", nobody});
    BOOST_TEST(post(listen.port, signedBody(app.key.get(), "ev-lost")) == 200);
    const auto err = listen.errOnce("forwarding event ev-lost to " + nobody + " failed: cannot connect");
    BOOST_TEST(contains(err, "(it was answered 200 and printed)"), err);
    BOOST_TEST(lineCount(listen.out()) == 1u);
    BOOST_TEST(listen.stop(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(bad_options_and_keys_stop_the_start_with_one_line)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    std::ofstream(dir.path / "not-a-key.pem") << "-----BEGIN PUBLIC KEY-----\nnope\n";
    struct Case {
        Args args;
        std::string says;
    };
    const std::vector<Case> cases{
        {{"listen", "--public-key", app.file}, "listen needs --port"},
        {{"listen", "--port", "70000", "--public-key", app.file}, "listen needs --port, a whole number"},
        {{"listen", "--port", "0"}, "listen needs --public-key"},
        {{"listen", "--port", "0", "--public-key", app.file, "--listen", "localhost"}, "--listen takes an IP address"},
        {{"listen", "--port", "0", "--public-key", app.file, "--forward-to", "https://127.0.0.1/x"},
         "--forward-to takes an http:// URL"},
        {{"listen", "--port", "0", "--public-key", dir.path.string()}, "is not a regular file"},
        {{"listen", "--port", "0", "--public-key", (dir.path / "not-a-key.pem").string()}, "not a PEM public key"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.says)
        {
            BOOST_TEST(test::waitExitWithin(test::spawn(WIX_INBOX_CLI, c.args, dir.path), 20s) == 1);
            const auto err = test::slurp(dir.path / "stderr");
            BOOST_TEST(contains(err, c.says), err);
            BOOST_TEST(lineCount(err) == 1u, err);
            BOOST_TEST(test::slurp(dir.path / "stdout").empty());
        }
    }
}

// A stop does not wait for a peer that sends slowly (the 10 s request timeout): its request is cut.
BOOST_AUTO_TEST_CASE(a_signal_stops_it_at_once_cutting_a_request_half_sent)
{
    test::TempDir dir;
    const AppKey app(dir.path);
    Listener listen(app.file);
    net::io_context ioc;
    beast::tcp_stream slow(ioc);
    slow.connect(tcp::endpoint(loopback, listen.port));
    // One whole request first: the connection is then surely accepted and being read.
    http::request<http::string_body> request{http::verb::post, "/webhooks", 11};
    request.set(http::field::host, "127.0.0.1");
    request.body() = signedBody(app.key.get(), "ev-before-stop");
    request.prepare_payload();
    http::write(slow, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(slow, buffer, response);
    BOOST_TEST(response.result_int() == 200);
    net::write(slow, net::buffer(std::string_view("POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\n")));

    const auto start = Clock::now();
    BOOST_TEST(listen.stop(SIGTERM) == 0);
    BOOST_TEST((Clock::now() - start < 5s));
    char byte = 0;
    boost::system::error_code ec;
    net::read(slow.socket(), net::buffer(&byte, 1), ec);
    BOOST_TEST((ec == net::error::eof || ec == net::error::connection_reset), ec.message());
    BOOST_TEST(lineCount(listen.out()) == 1u);
}
