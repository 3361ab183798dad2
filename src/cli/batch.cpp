#include "cli/batch.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>

namespace wix::inbox::cli {
namespace net = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
constexpr auto useTuple = net::as_tuple(net::use_awaitable);

namespace {

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what + (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

// Reads lines without ever holding more than maxLineBytes of one line. Pipes and
// terminals are read asynchronously, so a slow producer never blocks the calls in
// flight; regular files (which epoll cannot watch) are read directly.
class LineSource {
public:
    struct Line {
        std::string text;
        bool tooLong = false;
    };

    LineSource(net::io_context& ioc, const std::string& path) : buffer_(std::size_t{64} * 1024)
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

    ~LineSource()
    {
        if (stream_)
            stream_->release();
        ::fcntl(fd_, F_SETFL, originalFlags_); // stdin may be shared with the shell
        ::close(fd_);
    }

    /// Lines in a regular file (for progress), counted without keeping them.
    std::optional<std::uint64_t> countLines() const
    {
        if (!regularFile_)
            return std::nullopt;
        std::uint64_t lines = 0;
        char chunk[1 << 16];
        char last = '\n';
        for (off_t at = 0;;) {
            const auto n = ::pread(fd_, chunk, sizeof chunk, at);
            if (n <= 0)
                break;
            lines += static_cast<std::uint64_t>(std::count(chunk, chunk + n, '\n'));
            last = chunk[n - 1];
            at += n;
        }
        return lines + (last != '\n' ? 1 : 0);
    }

    net::awaitable<std::optional<Line>> next()
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
                co_return line;
            }
            begin_ = end_ = 0;
            const std::size_t n = co_await fill();
            if (n == 0)
                co_return any ? std::optional(std::move(line)) : std::nullopt; // no final newline is fine
            end_ = n;
        }
    }

private:
    static void append(Line& line, const char* begin, const char* end)
    {
        const auto n = static_cast<std::size_t>(end - begin);
        if (line.tooLong || line.text.size() + n > maxLineBytes) {
            line.tooLong = true;
            line.text.clear();
            return;
        }
        line.text.append(begin, end);
    }

    net::awaitable<std::size_t> fill()
    {
        if (stream_) {
            auto [ec, n] = co_await stream_->async_read_some(net::buffer(buffer_), useTuple);
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

    int fd_ = -1;
    int originalFlags_ = 0;
    bool regularFile_ = false;
    std::optional<net::posix::stream_descriptor> stream_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0, end_ = 0;
};

// Appends whole lines to the output; only complete lines ever reach the file except,
// after a kill, possibly a torn last one (which --resume cuts off).
class OutputSink {
public:
    OutputSink(const std::string& path, const std::optional<ResumePoint>& resume)
    {
        if (path == "-") {
            fd_ = ::dup(STDOUT_FILENO);
        } else {
            fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC), 0644);
            if (fd_ >= 0 && resume && ::ftruncate(fd_, static_cast<off_t>(resume->bytes)) != 0)
                fail("cannot cut the torn last line of '" + path + "'");
        }
        if (fd_ < 0)
            fail("cannot open output '" + path + "'");
    }
    ~OutputSink() { ::close(fd_); }

    void append(const std::string& line)
    {
        pending_ += line;
        pending_ += '\n';
        if (pending_.size() >= 1 << 16)
            flush();
    }

    void flush()
    {
        std::size_t done = 0;
        while (done < pending_.size()) {
            const auto n = ::write(fd_, pending_.data() + done, pending_.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                fail("cannot write output");
            done += static_cast<std::size_t>(n);
        }
        pending_.clear();
    }

private:
    int fd_ = -1;
    std::string pending_;
};

class Engine {
public:
    Engine(net::io_context& ioc, Client& client, const BatchOptions& options, const std::optional<ResumePoint>& resume)
        : ioc_(ioc)
        , client_(client)
        , source_(ioc, options.input)
        , sink_(options.output, resume)
        , concurrency_(std::max<std::size_t>(1, options.concurrency))
        , window_(std::max<std::size_t>(1024, concurrency_ * 4))
        , skip_(resume ? resume->lines : 0)
        , wake_(ioc)
        , signals_(ioc, SIGINT, SIGTERM)
        , ticker_(ioc)
        , progress_(::isatty(STDERR_FILENO) == 1)
    {
        if (progress_)
            total_ = source_.countLines();
    }

    BatchSummary run()
    {
        start_ = Clock::now();
        bool done = false;
        std::exception_ptr failure;
        net::co_spawn(ioc_, feed(), [&](std::exception_ptr e) {
            failure = std::move(e);
            done = true;
        });
        watchSignals();
        net::co_spawn(ioc_, tick(), net::detached);
        while (!done && ioc_.run_one() > 0)
            ;
        finished_ = true;
        signals_.cancel();
        ticker_.cancel();
        ioc_.poll();
        if (progress_)
            std::fputs("\r\x1b[K", stderr);
        if (failure)
            std::rethrow_exception(failure);
        summary_.skipped = skip_;
        return summary_;
    }

private:
    net::awaitable<void> feed()
    {
        for (std::uint64_t skipped = 0; skipped < skip_; ++skipped)
            if (!co_await source_.next())
                throw std::runtime_error("the output has more lines than the input: not the same input?");
        nextRead_ = nextWrite_ = skip_ + 1;
        for (;;) {
            while (!stopping_ && (inFlight_ >= concurrency_ || nextRead_ >= nextWrite_ + window_))
                co_await wait();
            if (stopping_)
                break;
            auto line = co_await source_.next();
            if (!line)
                break;
            const std::uint64_t n = nextRead_++;
            if (line->tooLong) {
                complete(n, inputErrorLine(n, "line longer than " + std::to_string(maxLineBytes) + " bytes"), false);
                continue;
            }
            auto parsed = parseBatchLine(line->text);
            if (auto* problem = std::get_if<std::string>(&parsed)) {
                complete(n, inputErrorLine(n, *problem), false);
                continue;
            }
            ++inFlight_;
            net::co_spawn(ioc_, call(n, std::get<BatchRequest>(std::move(parsed))), net::detached);
        }
        while (inFlight_ > 0) // after Ctrl-C too: calls in flight finish and are written
            co_await wait();
        sink_.flush();
    }

    net::awaitable<void> call(std::uint64_t n, BatchRequest request)
    {
        std::string out;
        bool ok = false;
        if (request.participant) {
            auto r = co_await client_.getOrCreateConversation(*request.participant);
            ok = r.has_value();
            out = ok ? okLine(n, request.passthrough, toJson(*r)) : errorLine(n, request.passthrough, r.error());
        } else {
            auto r = co_await client_.getConversation(request.conversationId);
            ok = r.has_value();
            out = ok ? okLine(n, request.passthrough, json::object{{"conversation", toJson(*r)}})
                     : errorLine(n, request.passthrough, r.error());
        }
        --inFlight_;
        complete(n, std::move(out), ok);
        wake_.cancel();
    }

    // Output is strictly in input order: a finished line waits until all before it are out.
    void complete(std::uint64_t n, std::string line, bool ok)
    {
        ++(ok ? summary_.ok : summary_.failed);
        ready_.emplace(n, std::move(line));
        while (!ready_.empty() && ready_.begin()->first == nextWrite_) {
            sink_.append(ready_.begin()->second);
            ready_.erase(ready_.begin());
            ++nextWrite_;
        }
    }

    net::awaitable<void> wait()
    {
        wake_.expires_at(Clock::time_point::max());
        co_await wake_.async_wait(useTuple);
    }

    void watchSignals()
    {
        signals_.async_wait([this](boost::system::error_code ec, int) {
            if (ec)
                return;
            if (stopping_) { // second Ctrl-C: write what is in order and leave now
                sink_.flush();
                std::fputs("\nwix-inbox: aborted; run again with --resume to continue\n", stderr);
                std::_Exit(130);
            }
            stopping_ = true;
            summary_.interrupted = true;
            std::fputs("\nwix-inbox: stopping: finishing calls in flight (Ctrl-C again to abort)\n", stderr);
            wake_.cancel();
            watchSignals();
        });
    }

    net::awaitable<void> tick()
    {
        while (!finished_) {
            ticker_.expires_after(std::chrono::milliseconds(250));
            auto [ec] = co_await ticker_.async_wait(useTuple);
            if (ec || finished_)
                co_return;
            sink_.flush(); // bounded loss on kill -9: at most a quarter second of lines
            if (progress_)
                showProgress();
        }
    }

    void showProgress() const
    {
        const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
        const std::uint64_t done = summary_.ok + summary_.failed;
        const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
        std::string line = "\r" + std::to_string(skip_ + done);
        if (total_ && *total_ > 0) {
            const double fraction = static_cast<double>(skip_ + done) / static_cast<double>(*total_);
            const int filled = static_cast<int>(fraction * 30);
            line = "\r[" + std::string(static_cast<std::size_t>(filled), '#')
                 + std::string(static_cast<std::size_t>(30 - filled), '.') + "] " + std::to_string(skip_ + done) + "/"
                 + std::to_string(*total_);
            if (rate > 0) {
                const double eta = static_cast<double>(*total_ - std::min(*total_, skip_ + done)) / rate;
                line += "  ETA " + std::to_string(static_cast<long>(eta)) + " s";
            }
        }
        line += "  " + std::to_string(static_cast<long>(rate)) + " calls/s  " + std::to_string(summary_.failed)
              + " errors\x1b[K";
        std::fputs(line.c_str(), stderr);
    }

    net::io_context& ioc_;
    Client& client_;
    LineSource source_;
    OutputSink sink_;
    std::size_t concurrency_;
    std::size_t window_;
    std::uint64_t skip_;
    net::steady_timer wake_;
    net::signal_set signals_;
    net::steady_timer ticker_;
    bool progress_;
    std::optional<std::uint64_t> total_;

    std::uint64_t nextRead_ = 1, nextWrite_ = 1;
    std::map<std::uint64_t, std::string> ready_;
    std::size_t inFlight_ = 0;
    bool stopping_ = false;
    bool finished_ = false;
    Clock::time_point start_;
    BatchSummary summary_;
};

} // namespace

BatchSummary runBatch(net::io_context& ioc, Client& client, const BatchOptions& options)
{
    std::optional<ResumePoint> resume;
    if (options.resume) {
        if (options.output == "-")
            throw std::runtime_error("--resume needs an output file, not standard output");
        auto point = findResumePoint(options.output);
        if (auto* problem = std::get_if<std::string>(&point))
            throw std::runtime_error(*problem);
        resume = std::get<ResumePoint>(point);
    }
    Engine engine(ioc, client, options, resume);
    return engine.run();
}

} // namespace wix::inbox::cli
