// SPDX-License-Identifier: BSL-1.0
#include "emulator/webhook_sender.hpp"
#include "base64url.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <stdexcept>

namespace wix::inbox::emulator {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using detail::encodeBase64url;

namespace {

constexpr auto useTuple = net::as_tuple(net::use_awaitable);
// The service waits this long for the receiver's 200.
constexpr std::chrono::milliseconds answerWithin{1250};
constexpr std::size_t maxAnswerBytes = std::size_t{64} * 1024;

} // namespace

class WebhookSender::Key {
public:
    Key() : key_(EVP_RSA_gen(2048))
    {
        if (!key_)
            throw std::runtime_error("cannot generate the webhook key");
    }
    ~Key() { EVP_PKEY_free(key_); }
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;

    std::string publicPem() const
    {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        char* data = nullptr;
        if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_) != 1)
            throw std::runtime_error("cannot write the webhook public key");
        const long size = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(size));
    }

    std::string sign(std::string_view part) const
    {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        const auto* bytes = reinterpret_cast<const unsigned char*>(part.data());
        std::size_t size = 0;
        if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_) != 1
            || EVP_DigestSign(ctx.get(), nullptr, &size, bytes, part.size()) != 1)
            throw std::runtime_error("cannot sign a webhook");
        std::string signature(size, '\0');
        if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, bytes, part.size()) != 1)
            throw std::runtime_error("cannot sign a webhook");
        signature.resize(size);
        return signature;
    }

private:
    EVP_PKEY* key_;
};

struct WebhookSender::Target {
    bool tls = false;
    std::string host;
    std::string port;
    std::string hostHeader; ///< host[:port] as HTTP requires it (RFC 9110, 7.2)
    std::string path;
    tcp::resolver::results_type endpoints;
    std::unique_ptr<ssl::context> tlsContext;
};

const std::vector<std::chrono::seconds> WebhookSender::schedule = [] {
    using namespace std::chrono_literals;
    return std::vector<std::chrono::seconds>{1min, 10min, 1h, 2h, 2h, 2h, 4h, 4h, 4h, 8h, 8h, 12h};
}();

namespace {

// Takes http(s)://host[:port][/path][?query] apart, before anything is resolved. Refuses
// what would not be delivered where it says: user info, a fragment, a port outside 1-65535
// (the resolver would take 99999 for 34463). The messages never repeat the URL, which may
// hold a secret.
std::unique_ptr<WebhookSender::Target> parseUrl(std::string_view url)
{
    auto parsed = std::make_unique<WebhookSender::Target>();
    auto& target = *parsed;
    target.tls = url.starts_with("https://");
    if (!target.tls && !url.starts_with("http://"))
        throw std::runtime_error("the webhook URL must start with http:// or https://");
    if (url.find('#') != std::string_view::npos)
        throw std::runtime_error("the webhook URL must not have a fragment (#...): it is never sent");
    if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; }))
        throw std::runtime_error("the webhook URL holds a space or a control character");
    url.remove_prefix(target.tls ? 8 : 7);
    const auto end = url.find_first_of("/?");
    std::string_view authority = url.substr(0, end);
    if (authority.find('@') != std::string_view::npos)
        throw std::runtime_error("the webhook URL must not hold user info (user:password@): webhooks carry no credentials");
    target.path = end == std::string_view::npos ? "/" : std::string(url.substr(end));
    if (target.path.starts_with('?'))
        target.path.insert(0, "/");
    std::string_view port = target.tls ? "443" : "80";
    if (authority.starts_with('[')) { // [IPv6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos || (close + 1 < authority.size() && authority[close + 1] != ':'))
            throw std::runtime_error("the webhook URL's host is malformed");
        if (close + 1 < authority.size())
            port = authority.substr(close + 2);
        authority = authority.substr(1, close - 1);
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        port = authority.substr(colon + 1);
        authority = authority.substr(0, colon);
    }
    if (authority.empty())
        throw std::runtime_error("the webhook URL lacks a host");
    unsigned number = 0;
    const auto [last, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || port.size() > 5 || ec != std::errc() || last != port.data() + port.size() || number == 0
        || number > 65535)
        throw std::runtime_error("the webhook URL's port must be a number from 1 to 65535");
    target.host = std::string(authority);
    target.port = std::string(port);
    // A receiver may serve several origins by Host: it names the port unless it is the
    // scheme's, and an IPv6 address in brackets.
    target.hostHeader = target.host.find(':') == std::string::npos ? target.host : "[" + target.host + "]";
    if (target.port != (target.tls ? "443" : "80"))
        target.hostHeader += ":" + target.port;
    return parsed;
}

} // namespace

WebhookSender::WebhookSender(net::any_io_executor executor, const std::string& url, double resendScale,
                             std::function<void()> countsChanged)
    : executor_(std::move(executor))
    , target_(parseUrl(url)) // a bad URL is refused before the key is made
    , resendScale_(resendScale)
    , key_(std::make_unique<Key>())
    , publicPem_(key_->publicPem())
    , countsChanged_(std::move(countsChanged))
{
    boost::system::error_code ec;
    tcp::resolver resolver(executor_);
    target_->endpoints = resolver.resolve(target_->host, target_->port, ec);
    if (ec)
        throw std::runtime_error("cannot resolve the webhook URL's host: " + ec.message());
    if (target_->tls) {
        target_->tlsContext = std::make_unique<ssl::context>(ssl::context::tls_client);
        target_->tlsContext->set_default_verify_paths();
        target_->tlsContext->set_verify_mode(ssl::verify_peer);
    }
}

WebhookSender::~WebhookSender() = default;

std::string WebhookSender::sign(const std::string& envelope) const
{
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const json::object claims{{"data", envelope}, {"iss", "wix.com"}, {"iat", now}, {"exp", now + 3600}};
    std::string token = encodeBase64url(R"({"alg":"RS256","typ":"JWT"})") + "." + encodeBase64url(json::serialize(claims));
    return token + "." + encodeBase64url(key_->sign(token));
}

void WebhookSender::send(const WebhookEvent& event)
{
    ++pending_;
    countsChanged_();
    net::co_spawn(executor_, deliver(envelopeOf(event)), [this](const std::exception_ptr& e) {
        if (!e)
            return;
        --pending_; // deliver() ended before its own count
        countsChanged_();
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& what) {
            std::cerr << "wix-inbox-emulator: a webhook delivery failed: " << what.what() << "\n";
        }
    });
}

// cppcheck-suppress passedByValue ; a coroutine keeps its own copy: the caller's is gone
net::awaitable<void> WebhookSender::deliver(std::string envelope)
{
    for (std::size_t resent = 0;; ++resent) {
        if (co_await attempt(sign(envelope))) {
            ++delivered_;
            break;
        }
        ++failedAttempts_;
        if (resent == schedule.size()) {
            ++abandoned_;
            break;
        }
        countsChanged_();
        net::steady_timer wait(executor_);
        wait.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(schedule[resent] * resendScale_));
        co_await wait.async_wait(useTuple);
    }
    --pending_;
    countsChanged_();
}

// One POST; true if answered 200 within the time the service allows.
net::awaitable<bool> WebhookSender::attempt(const std::string& body)
{
    beast::tcp_stream tcp(executor_);
    tcp.expires_after(answerWithin); // one deadline for connect, TLS, write and read
    if (auto [ec, at] = co_await tcp.async_connect(target_->endpoints, useTuple); ec)
        co_return false;
    http::request<http::string_body> request{http::verb::post, target_->path, 11};
    request.set(http::field::host, target_->hostHeader);
    request.set(http::field::user_agent, "wix-inbox-emulator");
    request.set(http::field::content_type, "text/plain");
    request.body() = body;
    request.prepare_payload();
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> answer;
    answer.header_limit(std::uint32_t{16} * 1024);
    answer.body_limit(maxAnswerBytes);
    auto exchange = [&](auto& stream) -> net::awaitable<bool> {
        if (auto [ec, n] = co_await http::async_write(stream, request, useTuple); ec)
            co_return false;
        auto [ec, n] = co_await http::async_read(stream, buffer, answer, useTuple);
        co_return !ec && answer.get().result_int() == 200;
    };
    if (!target_->tls)
        co_return co_await exchange(tcp);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *target_->tlsContext);
    SSL_set_tlsext_host_name(stream.native_handle(), target_->host.c_str());
    stream.set_verify_callback(ssl::host_name_verification(target_->host));
    if (auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, useTuple); ec)
        co_return false;
    co_return co_await exchange(stream);
}

WebhookSender::Counts WebhookSender::counts() const
{
    return {delivered_.load(), failedAttempts_.load(), abandoned_.load(), pending_.load()};
}

void WebhookSender::resetCounts()
{
    for (auto* counter : {&delivered_, &failedAttempts_, &abandoned_})
        counter->store(0);
}

} // namespace wix::inbox::emulator
