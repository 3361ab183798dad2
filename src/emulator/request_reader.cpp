// SPDX-License-Identifier: BSL-1.0
#include "emulator/request_reader.hpp"
#include "http_last_chunk.hpp"

#include <boost/beast/http/error.hpp>

namespace wix::inbox::emulator {
namespace http = boost::beast::http;

RequestReader::RequestReader(RequestLimits limits) : limits_(limits)
{
    start();
}

void RequestReader::start()
{
    parser_.emplace();
    parser_->eager(true);
    parser_->header_limit(static_cast<std::uint32_t>(limits_.maxHeaderBytes));
    parser_->body_limit(limits_.maxBodyBytes);
    refusal_.reset();
    consumed_ = 0;
    state_ = State::needMore;
}

RequestReader::State RequestReader::refuse(int status, std::string message)
{
    refusal_ = Refusal{status, std::move(message)};
    return state_ = State::refused;
}

RequestReader::State RequestReader::parse()
{
    while (state_ == State::needMore && buffer_.size() > 0) {
        if (parser_->is_header_done() && parser_->chunked()
            && detail::lastChunkAwaitingItsEnd({static_cast<const char*>(buffer_.data().data()), buffer_.size()}))
            break;
        boost::system::error_code ec;
        const std::size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        consumed_ += used;
        if (ec == http::error::header_limit)
            return refuse(431, "request headers too large");
        if (ec == http::error::body_limit)
            return refuse(413, "request body too large");
        if (ec && ec != http::error::need_more)
            return refuse(400, "malformed request: " + ec.message());
        if (consumed_ + buffer_.size() > limits_.maxHeaderBytes + limits_.maxBodyBytes)
            return refuse(413, "request too large (headers, framing and body)");
        if (parser_->is_done())
            return state_ = State::complete;
        if (ec || used == 0)
            break; // the parser waits for more of what is buffered
    }
    // What is buffered now is one unfinished line or header block: it may not grow past
    // the headers' limit (Beast bounds neither chunk extensions nor trailers).
    if (state_ == State::needMore && buffer_.size() >= limits_.maxHeaderBytes)
        return parser_->is_header_done() ? refuse(413, "chunk header or trailer too large")
                                         : refuse(431, "request headers too large");
    return state_;
}

boost::asio::mutable_buffer RequestReader::prepare()
{
    return buffer_.prepare(readSize);
}

RequestReader::State RequestReader::commit(std::size_t n)
{
    buffer_.commit(n);
    return parse();
}

} // namespace wix::inbox::emulator
