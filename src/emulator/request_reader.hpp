// SPDX-License-Identifier: BSL-1.0
// Reads HTTP/1.1 requests from a connection's bytes without doing I/O: the server's
// session makes the reads, the fuzzer feeds it arbitrary bytes. Every byte is bounded:
// the header block, the body, and everything Beast does not bound itself (chunk sizes
// and extensions, trailers), so one connection can never hold more than a few tens of KiB
// of unparsed input however it misbehaves.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace wix::inbox::emulator {

struct RequestLimits {
    std::size_t maxHeaderBytes; ///< over it: 431
    std::size_t maxBodyBytes;   ///< over it, or the request's bytes over both limits added: 413
};

/// Why a request is refused: the status to answer with (then the connection is closed).
struct Refusal {
    int status; ///< 400, 413 or 431
    std::string message;
};

class RequestReader {
public:
    using Request = boost::beast::http::request<boost::beast::http::string_body>;
    enum class State { needMore, complete, refused };

    explicit RequestReader(RequestLimits limits);

    /// Starts the next request; bytes already received for it (pipelined) are kept.
    void start();
    /// Parses what is buffered. `complete`: request() is whole; `refused`: refusal() says why.
    State parse();
    /// Where the next read goes (never empty while the state is needMore).
    boost::asio::mutable_buffer prepare();
    /// Takes `n` bytes read into prepare()'s buffer and parses them.
    State commit(std::size_t n);

    bool hasBuffered() const noexcept { return buffer_.size() > 0; }
    std::size_t buffered() const noexcept { return buffer_.size(); }
    Request& request() { return parser_->get(); }
    const Refusal& refusal() const { return *refusal_; }

    /// The most unparsed input a connection holds: a request line, a header block, or a
    /// chunk header or trailer line, and one read beyond it.
    std::size_t maxBuffered() const noexcept { return limits_.maxHeaderBytes + readSize; }

    static constexpr std::size_t readSize = 4096;

private:
    State refuse(int status, std::string message);

    RequestLimits limits_;
    boost::beast::flat_buffer buffer_;
    std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
    std::optional<Refusal> refusal_;
    std::size_t consumed_ = 0; // bytes of this request the parser has taken
    State state_ = State::needMore;
};

} // namespace wix::inbox::emulator
