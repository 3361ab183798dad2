// SPDX-License-Identifier: BSL-1.0
#include "line_source.hpp"

#include "ndjson.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace wix::inbox::cli {
namespace net = boost::asio;

namespace {

constexpr std::string_view byteOrderMark = "\xEF\xBB\xBF";

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what + (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

} // namespace

LineSource::LineSource(net::io_context& ioc, const std::string& path) : buffer_(std::size_t{64} * 1024)
{
    fd_ = path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
        fail("cannot open input '" + path + "'");
    originalFlags_ = ::fcntl(fd_, F_GETFL);
    struct stat st {};
    regularFile_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    if (!regularFile_) {
        stream_.emplace(ioc);
        boost::system::error_code ec;
        stream_->assign(fd_, ec);
        if (ec)
            stream_.reset();
    }
}

LineSource::~LineSource()
{
    if (stream_)
        stream_->release();
    ::fcntl(fd_, F_SETFL, originalFlags_); // stdin may be shared with the shell
    ::close(fd_);
}

bool LineSource::isFile(const struct stat& st) const
{
    struct stat own {};
    return ::fstat(fd_, &own) == 0 && own.st_dev == st.st_dev && own.st_ino == st.st_ino;
}

std::optional<InputIdentity> LineSource::wholeIdentity() const
{
    if (!regularFile_)
        return std::nullopt;
    InputIdentity whole;
    Fingerprint fingerprint;
    std::vector<char> chunk(std::size_t{1} << 16);
    char last = '\n';
    for (off_t at = 0;;) {
        const auto n = ::pread(fd_, chunk.data(), chunk.size(), at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail("cannot read input");
        if (n == 0)
            break;
        std::string_view bytes(chunk.data(), static_cast<std::size_t>(n));
        if (at == 0 && bytes.starts_with(byteOrderMark))
            bytes.remove_prefix(byteOrderMark.size());
        fingerprint.add(bytes);
        whole.lines += static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n'));
        if (!bytes.empty())
            last = bytes.back();
        at += n;
    }
    if (last != '\n') { // a last line without its newline counts as one, as next() reads it
        ++whole.lines;
        fingerprint.endLine();
    }
    whole.fingerprint = fingerprint.value();
    return whole;
}

net::awaitable<std::optional<LineSource::Line>> LineSource::next()
{
    Line line;
    bool any = false;
    for (;;) {
        const char* begin = buffer_.data() + begin_;
        const char* end = buffer_.data() + end_;
        const char* newline = std::find(begin, end, '\n');
        any = any || newline != begin || newline != end;
        append(line, begin, newline);
        if (newline != end) {
            begin_ = static_cast<std::size_t>(newline - buffer_.data()) + 1;
            break;
        }
        begin_ = end_ = 0;
        const std::size_t n = co_await fill();
        if (n == 0 && !any)
            co_return std::nullopt;
        if (n == 0)
            break; // no final newline is fine
        end_ = n;
        if (atStart_) { // a UTF-8 byte order mark, as some editors write, is not part of line 1
            atStart_ = false;
            if (std::string_view(buffer_.data(), n).starts_with(byteOrderMark))
                begin_ = byteOrderMark.size();
        }
    }
    fingerprint_.endLine();
    line.fingerprint = fingerprint_.value();
    co_return line;
}

void LineSource::append(Line& line, const char* begin, const char* end)
{
    const auto n = static_cast<std::size_t>(end - begin);
    fingerprint_.add({begin, n});
    if (line.tooLong || line.text.size() + n > maxLineBytes) {
        line.tooLong = true;
        line.text.clear();
        return;
    }
    line.text.append(begin, end);
}

net::awaitable<std::size_t> LineSource::fill()
{
    if (stream_) {
        auto [ec, n] = co_await stream_->async_read_some(net::buffer(buffer_), net::as_tuple(net::use_awaitable));
        if (ec && ec != net::error::eof)
            fail("cannot read input");
        co_return ec ? 0 : n;
    }
    for (;;) {
        const auto n = ::read(fd_, buffer_.data(), buffer_.size());
        if (n >= 0)
            co_return static_cast<std::size_t>(n);
        if (errno != EINTR)
            fail("cannot read input");
    }
}

} // namespace wix::inbox::cli
