// SPDX-License-Identifier: BSL-1.0
#include "scripted_server.hpp"

#include "emulator/certificate.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace test {
namespace net = boost::asio;
using tcp = net::ip::tcp;
constexpr auto useTuple = net::as_tuple(net::use_awaitable);

class ScriptedServer::Impl {
public:
    Impl(std::string response, Script script) : response_(std::move(response)), script_(script)
    {
        const auto cert = wix::inbox::emulator::makeSelfSignedCertificate({"127.0.0.1"}, script.expiredCertificate);
        tls_.use_certificate_chain(net::buffer(cert.certificatePem));
        tls_.use_private_key(net::buffer(cert.privateKeyPem), net::ssl::context::pem);
        caFile_ = (std::filesystem::temp_directory_path() / ("scripted-" + std::to_string(::getpid()) + "-"
                                                              + std::to_string(reinterpret_cast<std::uintptr_t>(this))
                                                              + ".pem"))
                      .string();
        std::ofstream(caFile_) << cert.certificatePem;
        acceptor_.open(tcp::v4());
        acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        net::co_spawn(ioc_, accept(), net::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }

    ~Impl()
    {
        ioc_.stop();
        thread_.join();
        std::filesystem::remove(caFile_);
    }

    net::awaitable<void> accept()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(useTuple);
            if (ec)
                co_return;
            net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> serve(tcp::socket socket)
    {
        net::ssl::stream<tcp::socket> stream(std::move(socket), tls_);
        if (auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, useTuple); ec)
            co_return;
        if (script_.answerBeforeRequest && !co_await answer(stream))
            co_return;
        net::streambuf buffer;
        for (;;) {
            auto [ec, headerBytes] = co_await net::async_read_until(stream, buffer, "\r\n\r\n", useTuple);
            if (ec)
                co_return;
            std::string head(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + headerBytes);
            buffer.consume(headerBytes);
            std::size_t length = 0;
            if (auto at = head.find("Content-Length: "); at != std::string::npos)
                length = std::stoul(head.substr(at + 16));
            if (buffer.size() < length) {
                auto [readError, n] = co_await net::async_read(stream, buffer,
                                                               net::transfer_exactly(length - buffer.size()), useTuple);
                if (readError)
                    co_return;
            }
            {
                std::lock_guard lock(mutex);
                last = head + std::string(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + length);
                arrivals.push_back(std::chrono::steady_clock::now());
            }
            buffer.consume(length);
            ++requests;
            if (script_.answerBeforeRequest)
                continue;
            if (!co_await answer(stream))
                co_return;
        }
    }

    // Writes the answer as scripted; false when the connection is done.
    net::awaitable<bool> answer(net::ssl::stream<tcp::socket>& stream)
    {
        if (script_.trickle.count() > 0) {
            net::steady_timer timer(stream.get_executor());
            for (char c : response_) {
                if (auto [e, n] = co_await net::async_write(stream, net::buffer(&c, 1), useTuple); e)
                    co_return false;
                timer.expires_after(script_.trickle);
                co_await timer.async_wait(useTuple);
            }
        } else if (auto [e, n] = co_await net::async_write(stream, net::buffer(response_), useTuple); e) {
            co_return false;
        }
        if (!script_.endless.empty()) {
            std::string block;
            while (block.size() < 64 * 1024)
                block += script_.endless;
            for (;;)
                if (auto [e, n] = co_await net::async_write(stream, net::buffer(block), useTuple); e)
                    co_return false;
        }
        if (script_.closeWithNotify)
            co_await stream.async_shutdown(useTuple);
        if (script_.closeWithoutNotify || script_.closeWithNotify) {
            stream.next_layer().close();
            co_return false;
        }
        co_return true;
    }

    std::string response_;
    Script script_;
    net::io_context ioc_;
    net::ssl::context tls_{net::ssl::context::tls_server};
    tcp::acceptor acceptor_{ioc_};
    std::string caFile_;
    std::thread thread_;
    std::atomic<int> requests{0};
    mutable std::mutex mutex;
    std::string last;
    std::vector<std::chrono::steady_clock::time_point> arrivals;
};

ScriptedServer::ScriptedServer(std::string rawResponse, Script script)
    : impl_(std::make_unique<Impl>(std::move(rawResponse), script))
{
}
ScriptedServer::~ScriptedServer() = default;
std::string ScriptedServer::url() const
{
    return "https://127.0.0.1:" + std::to_string(impl_->acceptor_.local_endpoint().port());
}
const std::string& ScriptedServer::caFile() const
{
    return impl_->caFile_;
}
std::string ScriptedServer::lastRequest() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->last;
}
std::vector<std::chrono::steady_clock::time_point> ScriptedServer::arrivals() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->arrivals;
}
int ScriptedServer::requests() const
{
    return impl_->requests.load();
}

} // namespace test
