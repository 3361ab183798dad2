#include "batch.hpp"
#include "commands.hpp"
#include "job_state.hpp"
#include "progress.hpp"
#include "send_line.hpp"
#include "tenants.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

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

// --shard K/N: the line's tenant, or else its participant or conversation, hashes to K.
bool inShard(const BatchRequest& request, const Shard& shard)
{
    Fingerprint hash;
    hash.add(request.shardKey());
    return hash.value() % shard.count == shard.index;
}

// Where a --retry-failed pass writes until it is complete.
std::string retryPath(const std::string& output)
{
    return output + ".wix-inbox-retry";
}

// Reads lines without ever holding more than maxLineBytes of one line. Pipes and
// terminals are read asynchronously, so a slow producer never blocks the calls in
// flight; regular files (which epoll cannot watch) are read directly.
class LineSource {
public:
    struct Line {
        std::string text;
        bool tooLong = false;
        std::uint64_t fingerprint = 0; ///< of the input up to and including this line
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

    /// True if `st` is the file this source reads (through any name, link or hard link).
    bool isFile(const struct stat& st) const
    {
        struct stat own {};
        return ::fstat(fd_, &own) == 0 && own.st_dev == st.st_dev && own.st_ino == st.st_ino;
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
                if (n >= 3 && std::memcmp(buffer_.data(), "\xEF\xBB\xBF", 3) == 0)
                    begin_ = 3;
            }
        }
        finish(line);
        co_return line;
    }

private:
    void finish(Line& line)
    {
        fingerprint_.endLine();
        line.fingerprint = fingerprint_.value();
    }

    void append(Line& line, const char* begin, const char* end)
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
    bool atStart_ = true;
    Fingerprint fingerprint_;
};

// Appends whole lines to the output; only complete lines ever reach the file except,
// after a kill or a failed write, possibly a torn last one (which --resume cuts off).
class OutputSink {
public:
    OutputSink(const std::string& path, const std::optional<ResumePoint>& resume) : path_(path)
    {
        if (path == "-") {
            fd_ = ::dup(STDOUT_FILENO);
        } else {
            // runBatch has refused to truncate anything the user did not ask to replace.
            fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? O_APPEND : O_TRUNC), 0644);
            if (fd_ >= 0 && resume && ::ftruncate(fd_, static_cast<off_t>(resume->bytes)) != 0)
                fail("cannot cut the torn last line of '" + path + "'");
        }
        if (fd_ < 0)
            fail("cannot open output '" + path + "'");
    }
    ~OutputSink() { ::close(fd_); }
    OutputSink(const OutputSink&) = delete;
    OutputSink& operator=(const OutputSink&) = delete;

    void append(const std::string& line)
    {
        pending_ += line;
        pending_ += '\n';
        if (pending_.size() >= 1 << 16)
            flush();
    }

    /// Complete lines this sink has written to the file (whatever a failed write left after them).
    std::uint64_t linesWritten() const noexcept { return linesWritten_; }

    /// Writes what is pending. Throws std::runtime_error (a full disk, a closed pipe...).
    void flush()
    {
        std::size_t done = 0;
        while (done < pending_.size()) {
            const auto n = ::write(fd_, pending_.data() + done, pending_.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                fail("cannot write output '" + (path_ == "-" ? std::string("standard output") : path_) + "'");
            linesWritten_ += static_cast<std::uint64_t>(
                std::count(pending_.data() + done, pending_.data() + done + n, '\n'));
            done += static_cast<std::size_t>(n);
        }
        pending_.clear();
    }

private:
    int fd_ = -1;
    std::string path_;
    std::string pending_;
    std::uint64_t linesWritten_ = 0;
};

// The output a --retry-failed pass replaces, read beside the input: its lines come in input
// order, each with its input line number.
class PreviousOutput {
public:
    struct Line {
        std::uint64_t number = 0;
        bool ok = false;
        std::string text;
    };

    explicit PreviousOutput(const std::string& path) : path_(path), in_(path, std::ios::binary)
    {
        if (!in_)
            fail("cannot read '" + path + "'");
        advance();
    }

    /// Its line for input line `n`, if it has one.
    std::optional<Line> take(std::uint64_t n)
    {
        if (!next_ || next_->number > n)
            return std::nullopt;
        if (next_->number < n)
            throw std::runtime_error("'" + path_ + "' has its lines out of input order: not a batch output");
        auto line = std::move(next_);
        advance();
        return line;
    }

    bool exhausted() const { return !next_; }

private:
    // Output lines hold an input line (at most 64 KiB) and a response (at most 1 MiB by
    // default, escaped): a longer one is not a batch output's, and is not held whole.
    static constexpr std::size_t maxOutputLineBytes = std::size_t{16} << 20;

    void advance()
    {
        next_.reset();
        std::string text;
        auto* buffer = in_.rdbuf();
        int c = buffer->sbumpc();
        if (c == std::char_traits<char>::eof())
            return;
        for (; c != std::char_traits<char>::eof() && c != '\n'; c = buffer->sbumpc()) {
            if (text.size() == maxOutputLineBytes)
                throw std::runtime_error("'" + path_ + "' has a line longer than 16 MiB: not a batch output");
            text.push_back(static_cast<char>(c));
        }
        boost::system::error_code ec;
        const auto v = json::parse(text, ec);
        const auto* o = !ec && v.is_object() ? &v.get_object() : nullptr;
        const auto* number = o ? o->if_contains("line") : nullptr;
        const auto* ok = o ? o->if_contains("ok") : nullptr;
        if (!number || !number->is_int64() || number->get_int64() < 1 || !ok || !ok->is_bool())
            throw std::runtime_error("'" + path_ + "' has a line that is not a batch output line");
        next_ = Line{static_cast<std::uint64_t>(number->get_int64()), ok->get_bool(), std::move(text)};
    }

    std::string path_;
    std::ifstream in_;
    std::optional<Line> next_;
};

class Engine {
public:
    /// `state`: where the job's state is kept beside the output (nothing for standard
    /// output); `expected`: on resume, the fingerprint the skipped lines must have.
    /// `previous`: a --retry-failed pass, which writes to a temporary file and renames it
    /// over the output once complete.
    Engine(net::io_context& ioc, Tenants& tenants, const BatchOptions& options, LineSource& source,
           const std::optional<ResumePoint>& resume, std::optional<std::string> state,
           std::optional<JobState> expected, PreviousOutput* previous)
        : ioc_(ioc)
        , tenants_(tenants)
        , options_(options)
        , source_(source)
        , previous_(previous)
        , sink_(previous ? retryPath(options.output) : options.output, resume)
        , statePath_(std::move(state))
        , journal_(statePath_ ? sendJournalPath(options.output) : std::string(), resume.has_value() || previous,
                   resume ? resume->lastLine : 0)
        , sends_(journal_)
        , expected_(std::move(expected))
        , concurrency_(std::max<std::size_t>(1, options.concurrency))
        , allowed_(static_cast<double>(concurrency_))
        , window_(std::max<std::size_t>(1024, concurrency_ * 4))
        , skip_(resume ? resume->lastLine : 0)
        , linesBefore_(resume ? resume->lines : 0)
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
        start_ = lastAnswer_ = Clock::now();
        if (skip_ == 0)
            flush(); // the record of the input exists before any output line does
        else
            std::fprintf(stderr, "wix-inbox: resuming '%s' after its line %llu\n", options_.output.c_str(),
                         static_cast<unsigned long long>(skip_));
        bool done = false;
        net::co_spawn(ioc_, feed(), [&](std::exception_ptr e) {
            failed(std::move(e));
            done = true;
        });
        watchSignals();
        net::co_spawn(ioc_, tick(), [this](std::exception_ptr e) { failed(std::move(e)); });
        // A failure anywhere (the output cannot be written, the input cannot be read) ends
        // the run at once: calls still in flight are abandoned, their lines redone on resume.
        while (!done && !fatal_ && ioc_.run_one() > 0)
            ;
        finished_ = true;
        signals_.cancel();
        ticker_.cancel();
        if (progress_)
            std::fputs("\r\x1b[K", stderr);
        if (fatal_)
            rethrowWithHint();
        ioc_.poll();
        summary_.skipped = linesBefore_;
        summary_.reconciliationRequests = sends_.reconciliationRequests;
        summary_.reconciled = sends_.reconciled;
        if (previous_)
            replaceOutput();
        return summary_;
    }

private:
    // A new line may start: a call may go, the reorder window has room, and the job is not
    // probing a service that fails (down to one call in flight, with lines waiting to retry).
    bool roomForALine() const
    {
        return active_ < static_cast<std::size_t>(allowed_) && nextRead_ < nextWrite_ + window_
            && (allowed_ >= 2 || pausing_ == 0);
    }

    // --retry-failed: the complete pass replaces the output in one rename; an interrupted
    // one is dropped and the output stays as it was.
    void replaceOutput()
    {
        const std::string temporary = retryPath(options_.output);
        if (!finishedRun_) {
            ::unlink(temporary.c_str());
            std::fprintf(stderr, "wix-inbox: '%s' is unchanged; run --retry-failed again to retry its failed lines\n",
                         options_.output.c_str());
            return;
        }
        if (::rename(temporary.c_str(), options_.output.c_str()) != 0)
            fail("cannot replace '" + options_.output + "' with '" + temporary + "'");
        // The same lines as before: the record of the input still holds, and is rewritten.
        writeJobState(jobStatePath(options_.output),
                      {options_.input, lastAppended_, fingerprint_, expected_ ? expected_->shard : std::string(), true});
    }

    // Every coroutine of the engine ends here: an exception is never dropped.
    void failed(std::exception_ptr e)
    {
        if (!e || fatal_)
            return;
        fatal_ = std::move(e);
        stopping_ = true;
        wake_.cancel();
    }

    [[noreturn]] void rethrowWithHint()
    {
        try {
            std::rethrow_exception(fatal_);
        } catch (const std::exception& e) {
            std::string hint;
            if (previous_) {
                ::unlink(retryPath(options_.output).c_str());
                hint = "'" + options_.output + "' is unchanged";
            } else if (statePath_)
                hint = std::to_string(linesBefore_ + sink_.linesWritten()) + " lines of '" + options_.output
                     + "' are complete: fix the cause, then run the same command with --resume to continue";
            throw BatchStopped(e.what(), std::move(hint));
        }
    }

    // The input must be the one the output's record was made from: the same fingerprint at
    // the record's last line.
    void checkAgainstRecord(std::uint64_t n, std::uint64_t fingerprint) const
    {
        if (expected_ && n == expected_->lines && fingerprint != expected_->fingerprint)
            throw std::runtime_error(previous_ ? notTheInput()
                                               : notTheInput() + ": resume with that input, or start again with --overwrite");
    }

    std::string notTheInput() const
    {
        return "the input is not the one '" + options_.output + "' was made from ('" + expected_->input + "')";
    }

    // Input errors (malformed lines) are written by one shard only: shard 0.
    bool reportsInputErrors() const { return !options_.shard || options_.shard->index == 0; }

    net::awaitable<void> feed()
    {
        for (std::uint64_t skipped = 0; skipped < skip_; ++skipped) {
            const auto line = co_await source_.next();
            if (!line)
                throw std::runtime_error("the output has more lines than the input: not the same input?");
            checkAgainstRecord(skipped + 1, line->fingerprint);
            fingerprint_ = line->fingerprint;
        }
        lastAppended_ = skip_;
        nextRead_ = nextWrite_ = skip_ + 1;
        for (;;) {
            while (!stopping_ && !roomForALine())
                co_await wait();
            if (stopping_)
                break;
            auto line = co_await source_.next();
            if (!line)
                break;
            const std::uint64_t n = nextRead_++;
            checkAgainstRecord(n, line->fingerprint);
            if (previous_) { // --retry-failed: only the failed lines are called again
                auto old = previous_->take(n);
                if (!old && expected_->shard.empty()) // every input line has its output line
                    throw std::runtime_error("the input has more lines than '" + options_.output
                                             + "': not the input it was made from");
                if (!old || old->ok) {
                    const bool write = old.has_value();
                    complete(n, write ? std::move(old->text) : std::string(), true, line->fingerprint, write);
                    continue;
                }
            }
            if (line->tooLong) {
                complete(n, inputErrorLine(n, "line longer than " + std::to_string(maxLineBytes) + " bytes"), false,
                         line->fingerprint, reportsInputErrors());
                continue;
            }
            auto parsed = parseBatchLine(line->text);
            if (auto* problem = std::get_if<std::string>(&parsed)) {
                complete(n, inputErrorLine(n, *problem), false, line->fingerprint, reportsInputErrors());
                continue;
            }
            auto& request = std::get<BatchRequest>(parsed);
            if (options_.shard && !inShard(request)) {
                complete(n, {}, true, line->fingerprint, false);
                continue;
            }
            const auto client = tenants_.clientFor(request.tenant);
            if (const auto* problem = std::get_if<std::string>(&client)) {
                complete(n, inputErrorLine(n, *problem), false, line->fingerprint);
                continue;
            }
            ++inFlight_;
            net::co_spawn(ioc_, call(n, *std::get<Client*>(client), std::move(request), line->fingerprint),
                          net::bind_cancellation_slot(cancels_[n].slot(), [this, n](std::exception_ptr e) {
                              // The signal outlives this handler, which its slot holds.
                              net::post(ioc_, [this, n] { cancels_.erase(n); });
                              failed(std::move(e));
                          }));
        }
        while (inFlight_ > 0 && !fatal_) // after Ctrl-C too: complete lines are written
            co_await wait();
        if (previous_ && !stopping_ && (!previous_->exhausted() || (expected_ && nextRead_ <= expected_->lines)))
            throw std::runtime_error(notTheInput() + ": their lines do not match");
        finishedRun_ = !stopping_;
        flush();
    }

    // A line's calls: again after each transient failure, while its --line-timeout allows.
    // A pausing line leaves its place to another: only calls on their way count as active.
    // A line cancelled by Ctrl-C is not written: --resume does it again.
    // cppcheck-suppress passedByValue ; a coroutine keeps its own copy: the caller's is gone
    net::awaitable<void> call(std::uint64_t n, Client& client, BatchRequest request, std::uint64_t fingerprint)
    {
        const auto lineDeadline = Clock::now() + options_.lineTimeout;
        std::optional<std::pair<std::string, bool>> done; // the output line, and whether it is ok
        for (int round = 0; !done; ++round) {
            const auto started = Clock::now();
            CallOptions callOptions;
            callOptions.timeout = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(lineDeadline - started),
                                             std::chrono::milliseconds(1), options_.callTimeout);
            ++active_;
            const Command& operation = commandOf(request);
            auto [out, error] = co_await operation.callLine(n, client, request, callOptions, sends_);
            --active_;
            wake_.cancel();
            if (!error) {
                onAnswer(true);
                done.emplace(std::move(out), true);
            } else if (error->code == Errc::cancelled || error->code == Errc::clientShutdown) {
                break;
            } else if (!worthAnotherCall(operation, *error)) {
                onAnswer(false);
                done.emplace(std::move(out), false);
            } else {
                onTransientFailure(started, *error);
                if (stopping_)
                    break;
                if (Clock::now() >= lineDeadline)
                    done.emplace(std::move(out), false);
                else if (!co_await pause(round, lineDeadline))
                    break;
                else
                    ++summary_.lineRetries;
            }
        }
        --inFlight_;
        wake_.cancel();
        if (done)
            // cppcheck-suppress missingReturn ; cppcheck 2.10 takes this coroutine for a plain function
            complete(n, std::move(done->first), done->second, fingerprint);
    }

    // The client retried what it could within one call; a line has more time. No pooled
    // connection in time is the job's own overload: worth another call too. Only for an
    // operation that is safe to repeat (a transient failure may have reached the service),
    // or one whose lines reconcile before calling again, which may then also have an
    // unknown outcome resolved.
    static bool worthAnotherCall(const Command& operation, const Error& e)
    {
        if (e.code == Errc::poolAcquireTimeout)
            return true;
        if (operation.reconciles && e.code == Errc::outcomeUnknown)
            return true;
        return (operation.idempotent || operation.reconciles) && isTransient(e);
    }

    // The service answered (a success, or an answer that settles the line).
    void onAnswer(bool succeeded)
    {
        lastAnswer_ = Clock::now();
        failureShare_ *= 1 - shareWeight;
        if (succeeded) // additive increase: one more call in flight per window of successes
            allowed_ = std::min(static_cast<double>(concurrency_), allowed_ + 1 / allowed_);
    }

    // Multiplicative decrease when nearly all calls fail (failures that strike a share of calls
    // whatever the load are not eased by sending less), once per loss event: the failures of
    // calls started before the last cut are that cut's. And the end of the job when nothing
    // has been answered for too long.
    void onTransientFailure(Clock::time_point callStarted, const Error& error)
    {
        const auto now = Clock::now();
        failureShare_ = failureShare_ * (1 - shareWeight) + shareWeight;
        if (failureShare_ >= failingShare && callStarted >= lastCut_) {
            allowed_ = std::max(1.0, allowed_ / 2);
            lastCut_ = now;
        }
        if (now - lastAnswer_ >= options_.giveUpAfter)
            throw std::runtime_error("no call has been answered for " + formatDuration(std::chrono::duration<double>(options_.giveUpAfter).count())
                                     + " (the last failure: " + error.describe() + "): stopping");
    }

    // The pause before a line's next call, jittered into its upper half so lines that failed
    // together do not return together: while nearly all calls fail, 1 s doubling to 16 s (the
    // service needs air); otherwise 250 ms doubling to 1 s (others get through, and a line
    // held back holds back the output after it). False if cancelled.
    net::awaitable<bool> pause(int round, Clock::time_point lineDeadline)
    {
        using namespace std::chrono;
        const bool failing = failureShare_ >= failingShare;
        const auto ceiling = (failing ? milliseconds(1000) : milliseconds(250)) * (1 << std::min(round, failing ? 4 : 2));
        auto delay = duration_cast<milliseconds>(ceiling * std::uniform_real_distribution<double>(0.5, 1.0)(random_));
        delay = std::min(delay, ceil<milliseconds>(lineDeadline - Clock::now()));
        net::steady_timer timer(ioc_, std::max(delay, milliseconds(0)));
        ++pausing_;
        auto [ec] = co_await timer.async_wait(useTuple);
        --pausing_;
        wake_.cancel();
        co_return !ec && !stopping_;
    }

    // Output is strictly in input order: a finished line waits until all before it are out.
    // A line of another shard is settled in order too, and writes nothing.
    void complete(std::uint64_t n, std::string line, bool ok, std::uint64_t fingerprint, bool write = true)
    {
        if (fatal_)
            return; // the output is no longer written
        ready_.emplace(n, Ready{std::move(line), fingerprint, ok, write});
        while (!ready_.empty() && ready_.begin()->first == nextWrite_) {
            const auto& ready = ready_.begin()->second;
            if (ready.write) {
                sink_.append(ready.line);
                ++(ready.ok ? summary_.ok : summary_.failed);
                fingerprint_ = ready.fingerprint;
                lastAppended_ = nextWrite_;
            }
            ready_.erase(ready_.begin());
            ++nextWrite_;
        }
    }

    bool inShard(const BatchRequest& request) const { return cli::inShard(request, *options_.shard); }

    // Writes the pending lines, then records which input they came from: the record never
    // claims more lines than the output holds.
    void flush()
    {
        sink_.flush();
        if (statePath_ && (lastAppended_ != recorded_ || !stateWritten_ || finishedRun_)) {
            writeJobState(*statePath_, {options_.input, lastAppended_, fingerprint_, shardName(options_.shard), finishedRun_});
            recorded_ = lastAppended_;
            stateWritten_ = true;
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
                try {
                    flush();
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "\nwix-inbox: %s", e.what());
                }
                std::fputs(statePath_ ? "\nwix-inbox: aborted; run again with --resume to continue\n"
                                      : "\nwix-inbox: aborted\n",
                           stderr);
                std::_Exit(130);
            }
            stopping_ = true;
            summary_.interrupted = true;
            std::fputs("\nwix-inbox: stopping: calls in flight are cancelled, complete lines kept (Ctrl-C again "
                       "to abort)\n", stderr);
            for (auto& [line, signal] : cancels_)
                signal.emit(net::cancellation_type::terminal);
            wake_.cancel();
            watchSignals();
        });
    }

    net::awaitable<void> tick()
    {
        while (!finished_) {
            ticker_.expires_after(std::chrono::milliseconds(250));
            auto [ec] = co_await ticker_.async_wait(useTuple);
            if (ec || finished_ || fatal_)
                co_return;
            flush(); // bounded loss on kill -9: at most a quarter second of lines
            if (progress_)
                showProgress();
        }
    }

    void showProgress()
    {
        const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
        ProgressView view;
        view.done = nextWrite_ - 1;
        if (total_ && view.done > *total_)
            total_ = source_.countLines(); // the input grew during the run
        view.total = total_;
        view.callsPerSecond = seconds > 0 ? static_cast<double>(summary_.ok + summary_.failed) / seconds : 0;
        view.failed = summary_.failed;
        const auto stats = tenants_.stats();
        view.retries = stats.retries;
        view.throttled = stats.throttled;
        winsize size{};
        const unsigned columns = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
        std::fputs(("\r" + renderProgress(view, columns) + "\x1b[K").c_str(), stderr);
    }

    struct Ready {
        std::string line;
        std::uint64_t fingerprint; // of the input up to this line
        bool ok;
        bool write; // false: a line of another shard
    };

    net::io_context& ioc_;
    Tenants& tenants_;
    const BatchOptions& options_;
    LineSource& source_;
    PreviousOutput* previous_;
    OutputSink sink_;
    std::optional<std::string> statePath_;
    SendJournal journal_; // before sends_, which refers to it
    SendContext sends_;
    std::optional<JobState> expected_;
    std::size_t concurrency_;
    double allowed_;                       // lines in flight now: concurrency_, less after failures
    std::size_t window_;
    std::uint64_t skip_;        // input lines an earlier run settled (--resume)
    std::uint64_t linesBefore_; // lines in the output written by earlier runs (--resume)
    net::steady_timer wake_;
    net::signal_set signals_;
    net::steady_timer ticker_;
    bool progress_;
    std::optional<std::uint64_t> total_;

    std::uint64_t nextRead_ = 1, nextWrite_ = 1;
    std::map<std::uint64_t, Ready> ready_;
    std::size_t inFlight_ = 0; // lines started and not done
    std::size_t active_ = 0;   // calls on their way
    std::size_t pausing_ = 0;  // lines waiting to be called again
    static constexpr double shareWeight = 1.0 / 16; // of a call's outcome in failureShare_
    static constexpr double failingShare = 0.8;     // the service is failing: four calls in five fail
    double failureShare_ = 0;  // of recent calls, transient failures
    std::unordered_map<std::uint64_t, net::cancellation_signal> cancels_; // of the lines in flight
    Clock::time_point lastCut_{};
    Clock::time_point lastAnswer_{}; // set at the start
    std::mt19937 random_{std::random_device{}()};
    std::uint64_t fingerprint_ = Fingerprint().value(); // of the input lines written so far
    std::uint64_t lastAppended_ = 0; // the input line of the output's last line (flushed by flush())
    std::uint64_t recorded_ = 0; // lines the state file covers
    bool stateWritten_ = false;
    bool finishedRun_ = false; // the whole input went through
    bool stopping_ = false;
    bool finished_ = false;
    std::exception_ptr fatal_;
    Clock::time_point start_;
    BatchSummary summary_;
};

// What may be done to the output, decided before anything is opened for writing.
struct OutputPlan {
    bool retry = false; // --retry-failed of a finished output
    std::optional<ResumePoint> resume;
    std::optional<std::string> statePath;
    std::optional<JobState> expected;
};

OutputPlan planOutput(const BatchOptions& options, const LineSource& source)
{
    OutputPlan plan;
    const std::string& output = options.output;
    if (output == "-") {
        if (options.resume || options.retryFailed)
            throw std::runtime_error(std::string(options.resume ? "--resume" : "--retry-failed")
                                     + " needs an output file, not standard output");
        return plan;
    }
    struct stat st {};
    const bool exists = ::stat(output.c_str(), &st) == 0;
    if (exists && source.isFile(st))
        throw std::runtime_error("--input and --output are the same file ('" + output
                                 + "'): writing the output would destroy the input");
    if (exists && !S_ISREG(st.st_mode))
        return plan; // a device or a pipe: nothing to truncate, no state to keep
    plan.statePath = jobStatePath(output);
    auto recorded = readJobState(*plan.statePath);
    if (const auto* problem = std::get_if<std::string>(&recorded))
        throw std::runtime_error(*problem + ": remove it or choose another output");
    if (options.retryFailed) {
        const auto* state = std::get_if<JobState>(&recorded);
        if (!exists || !state || !state->finished)
            throw std::runtime_error("'" + output + "' is not the output of a finished batch (" + (!exists ? "it does not exist"
                                     : !state ? "it has no record '" + *plan.statePath + "'" : "it was interrupted: "
                                     "--resume it first") + "): --retry-failed has nothing to retry");
        plan.expected = *state;
        plan.retry = true;
        return plan;
    }
    if (!options.resume) {
        if (exists && st.st_size > 0 && !options.overwrite)
            throw std::runtime_error("the output '" + output + "' exists and is not empty: use --resume to continue "
                                     "the run that wrote it, or --overwrite to replace it");
        return plan;
    }
    auto point = findResumePoint(output, options.shard.has_value());
    if (const auto* problem = std::get_if<std::string>(&point))
        throw std::runtime_error(*problem);
    plan.resume = std::get<ResumePoint>(point);
    const auto* state = std::get_if<JobState>(&recorded);
    if (plan.resume->lines > 0 && !state)
        throw std::runtime_error("'" + output + "' has no record of the input it was made from ('"
                                 + *plan.statePath + "'): --resume cannot check that it continues the same job; "
                                 "start again with --overwrite");
    if (state && state->lines > plan.resume->lastLine)
        throw std::runtime_error("'" + output + "' ends before the line its record says (" + std::to_string(
                                     plan.resume->lastLine) + " < " + std::to_string(state->lines)
                                 + "): it was changed since; start again with --overwrite");
    if (state && state->shard != shardName(options.shard))
        throw std::runtime_error("'" + output + "' was made " + (state->shard.empty() ? "without --shard" : "with --shard "
                                 + state->shard) + ": resume it the same way, or start again with --overwrite");
    if (state)
        plan.expected = *state;
    return plan;
}

} // namespace

DryRun dryRun(const BatchOptions& options)
{
    net::io_context ioc;
    LineSource source(ioc, options.input);
    DryRun report;
    std::unordered_set<std::string> targets, tenants;
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
        while (auto line = co_await source.next()) {
            ++report.lines;
            auto parsed = line->tooLong ? std::variant<BatchRequest, std::string>(std::string())
                                        : parseBatchLine(line->text);
            auto* request = std::get_if<BatchRequest>(&parsed);
            if (!request || (options.shard && !inShard(*request, *options.shard))) {
                report.malformed += request == nullptr;
                continue;
            }
            if (request->tenant)
                tenants.insert(request->tenant->label());
            if (!request->message) {
                ++report.otherCalls;
                continue;
            }
            ++report.sends;
            targets.insert((request->tenant ? request->tenant->label() : std::string()) + "/"
                           + (request->participant ? std::string(request->participant->wireField()) + ":" + request->shardKey()
                                                   : request->shardKey()));
        }
    }, [](const std::exception_ptr& e) {
        if (e)
            std::rethrow_exception(e);
    });
    ioc.run();
    report.conversations = targets.size();
    report.tenants = tenants.size();
    return report;
}

BatchSummary runBatch(net::io_context& ioc, Tenants& tenants, const BatchOptions& options)
{
    LineSource source(ioc, options.input);
    auto plan = planOutput(options, source);
    std::optional<PreviousOutput> previous;
    if (plan.retry) {
        previous.emplace(options.output);
        plan.statePath.reset(); // the output's record is rewritten once the pass replaces it
    }
    Engine engine(ioc, tenants, options, source, plan.resume, std::move(plan.statePath), std::move(plan.expected),
                  previous ? &*previous : nullptr);
    return engine.run();
}

} // namespace wix::inbox::cli
