// SPDX-License-Identifier: BSL-1.0
// The batch's input: NDJSON lines read without ever holding more than maxLineBytes of one,
// each with the fingerprint of the input up to it. Pipes and terminals are read
// asynchronously, so a slow producer never blocks the calls in flight; regular files (which
// epoll cannot watch) are read directly.
#pragma once

#include "job_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wix::inbox::cli {

class LineSource {
public:
    struct Line {
        std::string text;
        bool tooLong = false;
        std::uint64_t fingerprint = 0; ///< of the input up to and including this line
    };

    /// `path` "-" is standard input. Throws std::runtime_error if it cannot be opened.
    LineSource(boost::asio::io_context& ioc, const std::string& path);
    ~LineSource();
    LineSource(const LineSource&) = delete;
    LineSource& operator=(const LineSource&) = delete;

    /// True if `st` is the file this source reads (through any name, link or hard link).
    bool isFile(const struct stat& st) const;

    /// The whole input's lines and fingerprint, as next() would reach them, read without
    /// moving this source: for a regular file only (a pipe is known once read).
    std::optional<InputIdentity> wholeIdentity() const;

    /// The next line; nothing at the end. Throws std::runtime_error if it cannot be read.
    boost::asio::awaitable<std::optional<Line>> next();

private:
    void append(Line& line, const char* begin, const char* end);
    boost::asio::awaitable<std::size_t> fill();

    int fd_ = -1;
    int originalFlags_ = 0;
    bool regularFile_ = false;
    std::optional<boost::asio::posix::stream_descriptor> stream_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0, end_ = 0;
    bool atStart_ = true;
    Fingerprint fingerprint_;
};

} // namespace wix::inbox::cli
