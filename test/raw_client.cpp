// SPDX-License-Identifier: BSL-1.0
#include "raw_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>

namespace test {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

RawResponse rawExchange(unsigned short port, const std::string& caFile, const std::string& request)
{
    RawResponse out;
    net::io_context ioc;
    net::ssl::context tls(net::ssl::context::tls_client);
    tls.load_verify_file(caFile);
    tls.set_verify_mode(net::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, tls);
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_after(std::chrono::seconds(5));
    boost::system::error_code ec;
    tcp.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (!ec)
        stream.handshake(net::ssl::stream_base::client, ec);
    if (!ec)
        net::write(stream, net::buffer(request), ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    beast::flat_buffer buffer;
    if (!ec) {
        // Synchronous reads have no timeout: run the async one with the stream's expiry.
        http::async_read(stream, buffer, parser, [&](boost::system::error_code e, std::size_t) { ec = e; });
        ioc.run();
    }
    if (ec) {
        out.error = ec.message();
        return out;
    }
    const auto& m = parser.get();
    out.status = static_cast<int>(m.result_int());
    for (const auto& field : m) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        out.headers[name] = std::string(field.value());
    }
    out.body = m.body();
    return out;
}

std::string rawRequest(const std::string& method, const std::string& target, const std::string& body,
                       const std::string& extraHeaders)
{
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extraHeaders;
    if (!body.empty() || method == "POST")
        r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

} // namespace test
