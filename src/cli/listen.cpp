// SPDX-License-Identifier: BSL-1.0
// The listen command's HTTP server and forwarder. One thread runs everything: a request is read
// (bounded in size and time), verified, printed and answered; a forward runs after the answer,
// from a bounded queue, so a slow local app never delays Wix's 200.
#include "listen.hpp"

#include "terminal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options/value_semantic.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <charconv>
#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <list>
#include <variant>

namespace wix::inbox::cli {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace po = boost::program_options;
using tcp = net::ip::tcp;

namespace {

constexpr auto noThrow = net::as_tuple(net::use_awaitable);

constexpr std::size_t maxKeyBytes = std::size_t{64} * 1024;  // a PEM public key is under 2 KiB
constexpr std::size_t maxHeaderBytes = std::size_t{16} * 1024;
constexpr std::size_t maxConnections = 256;     // more are accepted and closed at once
constexpr auto requestTimeout = std::chrono::seconds(10); // to read one request, or write its answer
constexpr std::size_t maxPendingForwards = 1000;
constexpr auto forwardTimeout = std::chrono::seconds(5);  // connect, send and read the answer's head
constexpr std::size_t maxDrainedBytes = std::size_t{1024} * 1024;
constexpr auto drainTimeout = std::chrono::seconds(2);

// Where --forward-to posts: resolved once at start, since the URL is a local app's.
struct ForwardTarget {
    std::string url;        // as given, for messages
    std::string hostHeader; // host[:port]
    std::string target;     // path and query
    tcp::resolver::results_type endpoints;
};

struct Settings {
    net::ip::address address;
    unsigned short port = 0;
    std::optional<boost::urls::url_view> forwardTo;
};

std::variant<Settings, std::string> settingsOf(const ListenArgs& a)
{
    Settings s;
    if (a.publicKey.empty())
        return "listen needs --public-key (the app's public key, a PEM file)";
    const char* end = a.port.data() + a.port.size();
    unsigned port = 0;
    const auto [at, ec] = std::from_chars(a.port.data(), end, port);
    if (a.port.empty() || ec != std::errc() || at != end || port > 65535)
        return "listen needs --port, a whole number from 0 (any free port) to 65535";
    s.port = static_cast<unsigned short>(port);
    boost::system::error_code bad;
    s.address = net::ip::make_address(a.listenAddress, bad);
    if (bad)
        return "--listen takes an IP address, such as 127.0.0.1 or ::1";
    if (!a.forwardTo.empty()) {
        const auto url = boost::urls::parse_uri(a.forwardTo);
        if (!url || url->scheme_id() != boost::urls::scheme::http || url->encoded_host().empty() || url->has_userinfo()
            || url->has_fragment() || (url->has_port() && url->port_number() == 0))
            return "--forward-to takes an http:// URL, such as http://127.0.0.1:3000/webhooks";
        s.forwardTo = *url;
    }
    return s;
}

// The app's public key from a regular file of bounded size; a message when it cannot be used.
std::variant<webhooks::Verifier, std::string> verifierFrom(const std::string& path)
{
    const std::string named = "the public key '" + printable(path, 256) + "'";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return named + " is not a regular file";
    std::ifstream in(path, std::ios::binary);
    std::string pem(maxKeyBytes + 1, '\0');
    in.read(pem.data(), static_cast<std::streamsize>(pem.size()));
    pem.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad() || pem.empty())
        return named + " cannot be read";
    if (pem.size() > maxKeyBytes)
        return named + " is larger than " + std::to_string(maxKeyBytes / 1024) + " KiB: not a PEM public key";
    auto verifier = webhooks::Verifier::fromPem(pem);
    if (!verifier)
        return named + ": " + printable(verifier.error().message, 512);
    return std::move(*verifier);
}

std::string hostPort(const tcp::endpoint& e)
{
    const auto address = e.address().to_string();
    return (e.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(e.port());
}

// A typed event's line from the library's JSON of it: its type and IDs lifted out, the rest
// its data.
json::object typedLine(const std::string& libraryJson)
{
    auto data = json::parse(libraryJson).as_object();
    json::object line{{"type", data["eventType"]}, {"eventId", data["eventId"]}, {"instanceId", data["instanceId"]}};
    for (const auto* key : {"eventType", "eventId", "instanceId"})
        data.erase(key);
    line["data"] = std::move(data);
    return line;
}

// An event of a type the library does not decode: its ID is the domain event's `id`, inside the
// envelope's `data` (a JSON string).
json::object unknownLine(const webhooks::UnknownEvent& e)
{
    auto envelope = json::parse(e.json).as_object();
    json::value id = nullptr;
    if (const auto* data = envelope.if_contains("data"); data && data->is_string()) {
        boost::system::error_code bad;
        const auto inner = json::parse(data->get_string(), bad);
        if (const auto* o = inner.if_object())
            if (const auto* found = o->if_contains("id"); found && found->is_string())
                id = *found;
    }
    return {{"type", e.eventType}, {"eventId", id}, {"instanceId", e.instanceId}, {"data", std::move(envelope)}};
}

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>; // clang 14 (clang-tidy) deduces no aggregate's arguments

// Ends a coroutine: an exception (out of memory, a bug) is said, never dropped.
void report(std::string_view what, const std::exception_ptr& e)
{
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::cerr << "wix-inbox: listen: " << what << " failed: " << printable(x.what(), 512) << "\n";
    } catch (...) {
        std::cerr << "wix-inbox: listen: " << what << " failed\n";
    }
}

// Re-posts accepted events to a local app, one at a time in arrival order.
class Forwarder {
public:
    Forwarder(const net::any_io_executor& ex, ForwardTarget target) : target_(std::move(target)), wake_(ex) {}

    /// Queues an event's JSON; when the queue is full it is dropped, with a note.
    void push(const std::string& eventId, std::string body)
    {
        if (stopping_)
            return;
        if (queue_.size() >= maxPendingForwards) {
            std::cerr << "wix-inbox: listen: " << maxPendingForwards << " forwards pending: event "
                      << printable(eventId, 128) << " is not forwarded (it was printed)\n";
            return;
        }
        queue_.emplace_back(eventId, std::move(body));
        wake_.cancel();
    }

    net::awaitable<void> run()
    {
        while (!stopping_) {
            if (queue_.empty()) {
                wake_.expires_at(net::steady_timer::time_point::max());
                co_await wake_.async_wait(noThrow);
                continue;
            }
            const auto [id, body] = std::move(queue_.front());
            queue_.pop_front();
            if (const auto failure = co_await post(body); failure && !stopping_)
                std::cerr << "wix-inbox: listen: forwarding event " << printable(id, 128) << " to "
                          << printable(target_.url, 256) << " failed: " << *failure
                          << " (it was answered 200 and printed)\n";
        }
    }

    /// Cuts the forward in flight; the pending ones are dropped, with a count.
    void stop()
    {
        stopping_ = true;
        wake_.cancel();
        if (current_)
            current_->cancel();
        if (!queue_.empty())
            std::cerr << "wix-inbox: listen: stopping: " << queue_.size() << " events not forwarded\n";
        queue_.clear();
    }

private:
    // One POST on a connection of its own; why it failed, or nothing for a 2xx answer.
    net::awaitable<std::optional<std::string>> post(const std::string& body)
    {
        beast::tcp_stream stream(co_await net::this_coro::executor);
        current_ = &stream;
        struct Forget {
            beast::tcp_stream*& current;
            ~Forget() { current = nullptr; }
        } forget{current_};
        auto why = [](const boost::system::error_code& ec) {
            return ec == beast::error::timeout ? "no answer within " + std::to_string(forwardTimeout.count()) + " s"
                                               : ec.message();
        };
        stream.expires_after(forwardTimeout);
        if (auto [ec, to] = co_await stream.async_connect(target_.endpoints, noThrow); ec)
            co_return "cannot connect: " + why(ec);
        http::request<http::string_body> request{http::verb::post, target_.target, 11};
        request.set(http::field::host, target_.hostHeader);
        request.set(http::field::content_type, "application/json");
        request.set(http::field::user_agent, "wix-inbox listen");
        request.keep_alive(false);
        request.body() = body;
        request.prepare_payload();
        if (auto [ec, n] = co_await http::async_write(stream, request, noThrow); ec)
            co_return "cannot send: " + why(ec);
        // The head says whether it was taken; the body is not needed.
        beast::flat_buffer buffer(maxHeaderBytes);
        http::response_parser<http::empty_body> answer;
        answer.header_limit(maxHeaderBytes);
        if (auto [ec, n] = co_await http::async_read_header(stream, buffer, answer, noThrow); ec)
            co_return "no answer: " + why(ec);
        if (answer.get().result_int() / 100 != 2)
            co_return "answered " + std::to_string(answer.get().result_int());
        co_return std::nullopt;
    }

    ForwardTarget target_;
    std::deque<std::pair<std::string, std::string>> queue_;
    net::steady_timer wake_;
    beast::tcp_stream* current_ = nullptr;
    bool stopping_ = false;
};

class Server {
public:
    Server(net::io_context& ioc, webhooks::Verifier verifier, tcp::acceptor acceptor, std::optional<ForwardTarget> forward)
        : ioc_(ioc), verifier_(std::move(verifier)), acceptor_(std::move(acceptor)), signals_(ioc, SIGINT, SIGTERM)
    {
        if (forward)
            forwarder_.emplace(ioc.get_executor(), std::move(*forward));
    }

    // Runs until a signal or a failure; the exit status.
    int run()
    {
        signals_.async_wait([this](const boost::system::error_code& ec, int) {
            if (!ec)
                stop(0);
        });
        net::co_spawn(ioc_, accept(), [this](const std::exception_ptr& e) {
            if (e) {
                report("accepting connections", e);
                stop(2);
            }
        });
        if (forwarder_)
            net::co_spawn(ioc_, forwarder_->run(), [this](const std::exception_ptr& e) {
                if (e) {
                    report("forwarding", e);
                    stop(2);
                }
            });
        ioc_.run();
        std::cerr << "wix-inbox: listen: stopped: " << printed_ << " events printed, " << duplicates_
                  << " redeliveries dropped, " << refused_ << " bodies refused\n";
        return exitStatus_;
    }

private:
    struct Connection {
        beast::tcp_stream* stream;
        bool reading; // cut at a stop; an answer being written is finished first
    };

    void stop(int status)
    {
        if (stopping_)
            return;
        stopping_ = true;
        exitStatus_ = status;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        signals_.cancel();
        for (auto& c : connections_)
            if (c.reading)
                c.stream->cancel();
        if (forwarder_)
            forwarder_->stop();
    }

    net::awaitable<void> accept()
    {
        net::steady_timer pause(ioc_);
        while (!stopping_) {
            auto [ec, socket] = co_await acceptor_.async_accept(noThrow);
            if (stopping_)
                break;
            if (ec) { // out of file descriptors, most likely: try again shortly, not in a busy loop
                if (ec != acceptError_)
                    std::cerr << "wix-inbox: listen: cannot accept connections: " << ec.message() << "\n";
                acceptError_ = ec;
                pause.expires_after(std::chrono::milliseconds(100));
                co_await pause.async_wait(noThrow);
                continue;
            }
            acceptError_ = {};
            if (connections_.size() >= maxConnections) {
                if (!saturated_)
                    std::cerr << "wix-inbox: listen: " << maxConnections
                              << " connections open: closing new ones until some end\n";
                saturated_ = true;
                socket.close(ec);
                continue;
            }
            saturated_ = false;
            net::co_spawn(ioc_, serve(std::move(socket)), [](const std::exception_ptr& e) {
                if (e)
                    report("a connection", e);
            });
        }
    }

    net::awaitable<void> serve(tcp::socket socket)
    {
        boost::system::error_code ec;
        const auto peer = socket.remote_endpoint(ec);
        beast::tcp_stream stream(std::move(socket));
        const auto self = connections_.insert(connections_.end(), Connection{&stream, true});
        struct Leave {
            std::list<Connection>& list;
            std::list<Connection>::iterator it;
            ~Leave() { list.erase(it); }
            // cppcheck-suppress danglingLifetime ; Leave, made after the stream, erases the entry before the stream goes
        } leave{connections_, self};

        beast::flat_buffer buffer(maxHeaderBytes + std::size_t{64} * 1024);
        while (!stopping_) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(maxHeaderBytes);
            parser.body_limit(webhooks::maxBodyBytes);
            self->reading = true;
            stream.expires_after(requestTimeout); // the whole request, so a peer cannot trickle it forever
            auto [readError, n] = co_await http::async_read_header(stream, buffer, parser, noThrow);
            // curl sends larger bodies only after a 100 Continue (or a second's wait).
            if (!readError && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
                http::response<http::empty_body> go{http::status::continue_, 11};
                std::tie(readError, n) = co_await http::async_write(stream, go, noThrow);
            }
            if (!readError)
                std::tie(readError, n) = co_await http::async_read(stream, buffer, parser, noThrow);
            self->reading = false;
            if (readError == http::error::body_limit || readError == http::error::header_limit) {
                // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
                const bool body = readError == http::error::body_limit;
                const auto status = body ? http::status::payload_too_large : http::status::request_header_fields_too_large;
                const std::string why = body ? "the body is larger than " + std::to_string(webhooks::maxBodyBytes) + " bytes"
                                             : "the header is larger than " + std::to_string(maxHeaderBytes) + " bytes";
                co_await refuse(stream, *self, status, why);
                co_return;
            }
            if (readError) // closed, timed out, stopped, or not HTTP
                break;

            const auto& request = parser.get();
            auto [status, line, eventId] = handle(request, peer);
            http::response<http::string_body> response{status, request.version()};
            response.set(http::field::server, "wix-inbox listen");
            if (status == http::status::method_not_allowed)
                response.set(http::field::allow, "POST");
            response.keep_alive(request.keep_alive() && !stopping_);
            response.prepare_payload();
            stream.expires_after(requestTimeout);
            auto [writeError, written] = co_await http::async_write(stream, response, noThrow);
            // Answered first, forwarded after; the event was printed, so it is forwarded even
            // when the answer did not reach the sender.
            if (forwarder_ && line)
                forwarder_->push(eventId, std::move(*line));
            if (writeError || !response.keep_alive())
                break;
        }
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    struct Handled {
        http::status status;
        std::optional<std::string> line; // an event printed
        std::string eventId;
    };

    Handled handle(const http::request<http::string_body>& request, const tcp::endpoint& peer)
    {
        if (request.method() != http::verb::post)
            return {http::status::method_not_allowed, {}, {}};
        const auto event = verifier_.decode(request.body());
        if (!event) { // the reason only: a refused body may hold personal data
            ++refused_;
            std::cerr << "wix-inbox: listen: refused a webhook from " << hostPort(peer) << ": "
                      << printable(event.error().message, 512) << "\n";
            return {http::status::bad_request, {}, {}};
        }
        const auto object = eventLine(*event);
        const auto* id = object.at("eventId").if_string();
        const std::string eventId = id ? std::string(*id) : std::string();
        if (id && !recent_.firstTime(eventId)) {
            ++duplicates_;
            return {http::status::ok, {}, {}};
        }
        auto line = terminalSafeJson(json::serialize(object));
        // Flushed, so a reader of the pipe sees each event at once. Printed before the answer: a
        // 200 means the event is out (a reader that stops reading stalls the answers too).
        std::cout << line << std::endl;
        if (!std::cout) { // not printed: Wix is asked to send it again later
            std::cerr << "wix-inbox: listen: cannot write standard output: stopping\n";
            stop(2);
            return {http::status::service_unavailable, {}, {}};
        }
        ++printed_;
        return {http::status::ok, std::move(line), eventId};
    }

    // Answers an error to a request that was not read whole, then reads and drops what the peer
    // still sends (bounded): closing with unread bytes would reset the connection before the
    // peer could read the answer.
    net::awaitable<void> refuse(beast::tcp_stream& stream, Connection& self, http::status status, const std::string& why)
    {
        std::cerr << "wix-inbox: listen: answered " << static_cast<int>(status) << ": " << why << "\n";
        http::response<http::string_body> response{status, 11};
        response.set(http::field::server, "wix-inbox listen");
        response.keep_alive(false);
        response.prepare_payload();
        stream.expires_after(requestTimeout);
        if (auto [ec, n] = co_await http::async_write(stream, response, noThrow); ec || stopping_)
            co_return;
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        self.reading = true;
        stream.expires_after(drainTimeout);
        std::array<char, std::size_t{16} * 1024> chunk;
        for (std::size_t drained = 0; drained < maxDrainedBytes;) {
            auto [ec, n] = co_await stream.async_read_some(net::buffer(chunk), noThrow);
            if (ec)
                break;
            drained += n;
        }
    }

    net::io_context& ioc_;
    webhooks::Verifier verifier_;
    webhooks::RecentEvents recent_;
    tcp::acceptor acceptor_;
    net::signal_set signals_;
    std::optional<Forwarder> forwarder_;
    std::list<Connection> connections_;
    bool stopping_ = false, saturated_ = false;
    boost::system::error_code acceptError_; // said once, until an accept succeeds again
    int exitStatus_ = 0;
    std::uint64_t printed_ = 0, duplicates_ = 0, refused_ = 0;
};

} // namespace

json::object eventLine(const webhooks::Event& event)
{
    // A typed event added to the Event variant needs no line here: the library's toJson of it
    // gives its fields. A type to be printed otherwise gets an overload of its own.
    return std::visit(Overloaded{[](const webhooks::UnknownEvent& e) { return unknownLine(e); },
                                 [&](const auto&) { return typedLine(webhooks::toJson(event)); }},
                      event);
}

void ListenArgs::options(po::options_description& d)
{
    d.add_options()
        ("port", po::value(&port), "the port to listen on; 0 takes a free one (the first line on standard error "
                                     "names it: {\"listening\":\"http://ADDRESS:PORT\"})")
        ("public-key", po::value(&publicKey), "the app's public key (PEM file), to verify each body with")
        ("forward-to", po::value(&forwardTo), "POST each event's JSON line to this http:// URL (a local app), "
                                                "after answering Wix; a failure is reported on standard error")
        ("listen", po::value(&listenAddress)->default_value("127.0.0.1"), "the address to listen on (plain HTTP: "
                                                                            "Wix delivers to a public HTTPS URL, "
                                                                            "so put a TLS proxy or a tunnel in front)");
}

std::optional<std::string> ListenArgs::check(const GlobalSettings&)
{
    const auto settings = settingsOf(*this);
    if (const auto* problem = std::get_if<std::string>(&settings))
        return *problem;
    return std::nullopt;
}

std::optional<int> ListenArgs::runLocal()
{
    const auto settings = std::get<Settings>(settingsOf(*this));
    auto verifier = verifierFrom(publicKey);
    if (const auto* problem = std::get_if<std::string>(&verifier)) {
        std::cerr << "wix-inbox: " << *problem << "\n";
        return 1;
    }
    net::io_context ioc(1);
    std::optional<ForwardTarget> forward;
    if (settings.forwardTo) {
        const auto& url = *settings.forwardTo;
        boost::system::error_code ec;
        const auto endpoints = tcp::resolver(ioc).resolve(url.host_address(), url.has_port() ? url.port() : "80", ec);
        if (ec) {
            std::cerr << "wix-inbox: --forward-to: cannot resolve '" << printable(url.host_address(), 256)
                      << "': " << ec.message() << "\n";
            return 1;
        }
        forward = ForwardTarget{std::string(url.buffer()), std::string(url.encoded_host_and_port()),
                                url.encoded_target().empty() ? "/" : std::string(url.encoded_target()), endpoints};
    }
    tcp::acceptor acceptor(ioc);
    const tcp::endpoint at{settings.address, settings.port};
    boost::system::error_code ec;
    acceptor.open(at.protocol(), ec);
    if (!ec)
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
        acceptor.bind(at, ec);
    if (!ec)
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        std::cerr << "wix-inbox: cannot listen on " << hostPort(at) << ": " << ec.message() << "\n";
        return 1;
    }
    std::cerr << json::serialize(json::object{{"listening", "http://" + hostPort(acceptor.local_endpoint())}})
              << "\n";
    Server server(ioc, std::get<webhooks::Verifier>(std::move(verifier)), std::move(acceptor), std::move(forward));
    return server.run();
}

} // namespace wix::inbox::cli
