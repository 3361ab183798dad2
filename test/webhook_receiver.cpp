// SPDX-License-Identifier: BSL-1.0
#include "webhook_receiver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace test {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class WebhookReceiver::Impl {
public:
    explicit Impl(std::vector<int> answers) : answers_(std::move(answers))
    {
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
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/webhooks"; }

    std::vector<std::string> bodies(std::size_t n, std::chrono::seconds limit) const
    {
        std::unique_lock lock(mutex_);
        received_.wait_for(lock, limit, [&] { return bodies_.size() >= n; });
        return bodies_;
    }

    std::vector<std::string> hosts() const
    {
        std::lock_guard lock(mutex_);
        return hosts_;
    }

private:
    net::awaitable<void> accept()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
            if (ec)
                co_return;
            net::co_spawn(ioc_, serve(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> serve(tcp::socket socket)
    {
        beast::tcp_stream stream(std::move(socket));
        beast::flat_buffer buffer;
        http::request<http::string_body> request;
        if (auto [ec, n] = co_await http::async_read(stream, buffer, request, net::as_tuple(net::use_awaitable)); ec)
            co_return;
        int status = 200;
        {
            std::lock_guard lock(mutex_);
            if (bodies_.size() < answers_.size())
                status = answers_[bodies_.size()];
            bodies_.push_back(request.body());
            hosts_.push_back(request[http::field::host]);
        }
        received_.notify_all();
        if (status == 0) { // never answer: hold the connection until the sender gives up
            net::steady_timer forever(ioc_, std::chrono::minutes(10));
            co_await forever.async_wait(net::as_tuple(net::use_awaitable));
            co_return;
        }
        http::response<http::string_body> answer{static_cast<http::status>(status), 11};
        answer.prepare_payload();
        co_await http::async_write(stream, answer, net::as_tuple(net::use_awaitable));
    }

    std::vector<int> answers_;
    net::io_context ioc_;
    tcp::acceptor acceptor_{ioc_};
    std::thread thread_;
    mutable std::mutex mutex_;
    mutable std::condition_variable received_;
    std::vector<std::string> bodies_;
    std::vector<std::string> hosts_;
};

WebhookReceiver::WebhookReceiver(std::vector<int> answers) : impl_(std::make_unique<Impl>(std::move(answers))) {}
WebhookReceiver::~WebhookReceiver() = default;
std::string WebhookReceiver::url() const
{
    return impl_->url();
}
std::vector<std::string> WebhookReceiver::bodies(std::size_t n, std::chrono::seconds limit) const
{
    return impl_->bodies(n, limit);
}
std::vector<std::string> WebhookReceiver::hosts() const
{
    return impl_->hosts();
}

} // namespace test
