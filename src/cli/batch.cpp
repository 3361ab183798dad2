// SPDX-License-Identifier: BSL-1.0
// The batch's orchestrator: reads lines (line_source), starts each when the scheduler lets it
// (line_scheduler), calls it through its operation's row (commands) and writes its output
// line in input order (in_order_output), keeping the output's state (job_state) and the
// sends' journal (send_journal) beside it, as the output's plan allows (output_plan); it
// ticks the progress (progress) and stops on a signal (stop_signals).
#include "batch.hpp"
#include "batch_output.hpp"
#include "commands.hpp"
#include "in_order_output.hpp"
#include "job_state.hpp"
#include "line_pacing.hpp"
#include "line_scheduler.hpp"
#include "line_source.hpp"
#include "output_plan.hpp"
#include "progress.hpp"
#include "send_line.hpp"
#include "tenants.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace wix::inbox::cli {
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto useTuple = net::as_tuple(net::use_awaitable);

namespace {

// --shard K/N: the line's tenant, or else its participant or conversation, hashes to K.
bool inShard(const BatchRequest& request, const Shard& shard)
{
    Fingerprint hash;
    hash.add(request.shardKey());
    return hash.value() % shard.count == shard.index;
}

class Engine {
public:
    Engine(net::io_context& ioc, Tenants& tenants, StopSignals& signals, const BatchOptions& options, LineSource& source,
           OutputPlan& plan, PreviousOutput* previous)
        : ioc_(ioc)
        , tenants_(tenants)
        , options_(options)
        , source_(source)
        , previous_(previous)
        , stateFile_(plan.state.get())
        , state_(initialState(plan, options))
        , journal_(openJournal(plan))
        , sends_(journal_)
        , sink_(previous ? retryPath(options.output) : options.output,
                previous ? OutputSink::Open::makeOwn : plan.resume ? OutputSink::Open::append : OutputSink::Open::replace,
                plan.resume ? plan.resume->bytes : 0)
        , output_(sink_)
        , expected_(plan.recorded)
        , skip_(plan.resume ? plan.resume->lastLine : 0)
        , linesBefore_(plan.resume ? plan.resume->lines : 0)
        , signals_(signals)
        , ticker_(ioc)
        , scheduler_(ioc, options.concurrency, options.giveUpAfter, Clock::now())
        , progress_(options.quiet, options.progressInterval,
                    plan.whole ? std::optional(plan.whole->lines) : std::nullopt, Clock::now())
    {
        if (plan.whole)
            inputLines_ = plan.whole->lines;
    }

    BatchSummary run()
    {
        if (skip_ == 0)
            flush(); // the record of the input exists before any output line does
        else if (!options_.quiet)
            std::fprintf(stderr, "wix-inbox: resuming '%s' after its line %llu\n", options_.output.c_str(),
                         static_cast<unsigned long long>(skip_));
        // First: a signal that came while the job was set up stops it before any line starts.
        signals_.watch([this](int signal) { stop(signal); }, [this](int signal) { abort(signal); });
        bool done = false;
        net::co_spawn(ioc_, feed(), [&](std::exception_ptr e) {
            failed(std::move(e));
            done = true;
        });
        net::co_spawn(ioc_, tick(), [this](std::exception_ptr e) { failed(std::move(e)); });
        // A failure anywhere (the output cannot be written, the input cannot be read) ends
        // the run at once: calls still in flight are abandoned, their lines redone on resume.
        while (!done && !fatal_ && ioc_.run_one() > 0)
            ;
        finished_ = true;
        signals_.cancel();
        ticker_.cancel();
        progress_.finish();
        if (fatal_)
            rethrowWithHint();
        ioc_.poll();
        summary_.ok = output_.ok();
        summary_.failed = output_.failed();
        summary_.skipped = linesBefore_;
        summary_.reconciliationRequests = sends_.reconciliationRequests;
        summary_.reconciled = sends_.reconciled;
        if (previous_)
            replaceOutput();
        return summary_;
    }

private:
    // A continued job's record (its journal, its whole input), or a new job's.
    static JobState initialState(const OutputPlan& plan, const BatchOptions& options)
    {
        JobState state = plan.recorded && (plan.retry || plan.resume) ? *plan.recorded : JobState{};
        state.input = options.input;
        state.shard = shardName(options.shard);
        if (plan.whole)
            state.whole = plan.whole;
        return state;
    }

    // The journal beside the output (in memory for standard output): continued by --resume
    // and --retry-failed, which keep the entries of the lines they may call; made anew by a
    // fresh run. The state file names it before its first intent.
    SendJournal openJournal(const OutputPlan& plan)
    {
        auto onCreated = [this](const std::string& id) {
            state_.journal = id;
            writeState();
        };
        if (!plan.state)
            return SendJournal::fresh({}, {});
        const std::string path = sendJournalPath(options_.output);
        const std::string expected = plan.recorded ? plan.recorded->journal : std::string();
        if (plan.retry) {
            auto failed = PreviousOutput::failedLines(options_.output);
            return SendJournal::resume(path, expected, [&](std::uint64_t n) {
                return std::binary_search(failed.begin(), failed.end(), n);
            }, onCreated);
        }
        if (plan.resume)
            return SendJournal::resume(path, expected, [after = plan.resume->lastLine](std::uint64_t n) {
                return n > after;
            }, onCreated);
        return SendJournal::fresh(path, onCreated);
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
            throw std::runtime_error("cannot replace '" + options_.output + "' with '" + temporary + "'");
        // The same lines as before: the record of the input still holds, and is rewritten.
        state_.lines = output_.lastWritten();
        state_.fingerprint = output_.fingerprint();
        state_.finished = true;
        writeState();
    }

    // Every coroutine of the engine ends here: an exception is never dropped.
    void failed(std::exception_ptr e)
    {
        if (!e || fatal_)
            return;
        fatal_ = std::move(e);
        stopping_ = true;
        scheduler_.wake();
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
            } else if (stateFile_)
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
            readFingerprint_ = line->fingerprint;
        }
        output_.startAfter(skip_, readFingerprint_);
        nextRead_ = skip_ + 1;
        for (;;) {
            while (!stopping_ && !scheduler_.roomForALine(nextRead_, output_.next()))
                co_await scheduler_.wait();
            // A regular file is read as it was when the run started: lines appended since
            // belong to the next job, and the record of the input stays true.
            if (stopping_ || (inputLines_ && nextRead_ > *inputLines_))
                break;
            auto line = co_await source_.next();
            if (!line)
                break;
            const std::uint64_t n = nextRead_++;
            readFingerprint_ = line->fingerprint;
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
            if (options_.shard && !inShard(request, *options_.shard)) {
                complete(n, {}, true, line->fingerprint, false);
                continue;
            }
            const auto client = tenants_.clientFor(request.tenant);
            if (const auto* problem = std::get_if<std::string>(&client)) {
                complete(n, inputErrorLine(n, *problem), false, line->fingerprint);
                continue;
            }
            request.lineFingerprint = Fingerprint::of(line->text);
            scheduler_.lineStarted();
            net::co_spawn(ioc_, call(n, *std::get<Client*>(client), std::move(request), line->fingerprint),
                          net::bind_cancellation_slot(cancels_[n].slot(), [this, n](std::exception_ptr e) {
                              // The signal outlives this handler, which its slot holds.
                              net::post(ioc_, [this, n] { cancels_.erase(n); });
                              failed(std::move(e));
                          }));
        }
        while (scheduler_.lines() > 0 && !fatal_) // after a signal too: complete lines are written
            co_await scheduler_.wait();
        if (previous_ && !stopping_ && (!previous_->exhausted() || (expected_ && nextRead_ <= expected_->lines)))
            throw std::runtime_error(notTheInput() + ": their lines do not match");
        finishedRun_ = !stopping_;
        if (finishedRun_) {
            const InputIdentity read{nextRead_ - 1, readFingerprint_};
            if (state_.whole && *state_.whole != read)
                throw std::runtime_error(expected_ ? notTheInput() + ": it differs after the lines already done"
                                                   : std::string("the input changed while the batch read it"));
            state_.whole = read; // a pipe's, known now
        }
        flush();
    }

    // A line's calls: again after each failure worth it, while its --line-timeout allows.
    // A pausing line leaves its place to another: only calls on their way count as active.
    // A line cancelled by a signal is not written: --resume does it again.
    // cppcheck-suppress passedByValue ; a coroutine keeps its own copy: the caller's is gone
    net::awaitable<void> call(std::uint64_t n, Client& client, BatchRequest request, std::uint64_t fingerprint)
    {
        // A signal cancels the line: its calls end with Errc::cancelled, never an exception.
        co_await net::this_coro::throw_if_cancelled(false);
        const auto lineDeadline = Clock::now() + options_.lineTimeout;
        const Command& operation = commandOf(request);
        std::optional<std::pair<std::string, bool>> done; // the output line, and whether it is ok
        for (int round = 0; !done && !stopping_; ++round) {
            const auto started = Clock::now();
            CallOptions callOptions;
            callOptions.timeout = std::clamp(std::chrono::ceil<std::chrono::milliseconds>(lineDeadline - started),
                                             std::chrono::milliseconds(1), options_.callTimeout);
            scheduler_.callStarted();
            auto [out, error] = co_await operation.callLine(n, client, request, callOptions, sends_);
            scheduler_.callEnded();
            auto& pacing = scheduler_.pacing();
            if (!error) {
                pacing.onAnswer(true, Clock::now());
                done.emplace(std::move(out), true);
            } else if (error->code == Errc::cancelled || error->code == Errc::clientShutdown) {
                break;
            } else if (!worthAnotherCall(operation, request, *error)) {
                pacing.onAnswer(false, Clock::now());
                done.emplace(std::move(out), false);
            } else {
                if (auto stop = pacing.onTransientFailure(started, Clock::now()))
                    throw std::runtime_error(*stop + " (the last failure: " + error->describe() + "): stopping");
                if (stopping_)
                    break;
                if (Clock::now() >= lineDeadline)
                    done.emplace(std::move(out), false);
                else if (!co_await scheduler_.pause(round, lineDeadline) || stopping_)
                    break;
                else
                    ++summary_.lineRetries;
            }
        }
        scheduler_.lineEnded();
        sends_.journal.forget(n);
        if (done)
            // cppcheck-suppress missingReturn ; cppcheck 2.10 takes this coroutine for a plain function
            complete(n, std::move(done->first), done->second, fingerprint);
    }

    // A line of another shard is settled in order too, and writes nothing.
    void complete(std::uint64_t n, std::string line, bool ok, std::uint64_t fingerprint, bool write = true)
    {
        if (!fatal_) // else the output is no longer written
            output_.complete(n, std::move(line), ok, fingerprint, write);
    }

    // Writes the pending lines, then records which input they came from: the record never
    // claims more lines than the output holds. A --retry-failed pass records its output once
    // it has replaced the old one.
    void flush()
    {
        sink_.flush();
        if (!stateFile_ || previous_ || (output_.lastWritten() == state_.lines && stateWritten_ && !finishedRun_))
            return;
        state_.lines = output_.lastWritten();
        state_.fingerprint = output_.fingerprint();
        state_.finished = finishedRun_;
        writeState();
    }

    void writeState()
    {
        if (stateFile_) {
            stateFile_->write(state_);
            stateWritten_ = true;
        }
    }

    // A stop signal ends the job gracefully: calls in flight are cancelled, complete lines
    // written, the run left resumable.
    void stop(int signal)
    {
        stopping_ = true;
        summary_.interrupted = true;
        summary_.signal = signal;
        std::fprintf(stderr, "\nwix-inbox: %s: stopping: calls in flight are cancelled, complete lines kept (again "
                             "to abort)\n", ::strsignal(signal));
        for (auto& [line, cancel] : cancels_)
            cancel.emit(net::cancellation_type::terminal);
        scheduler_.wake();
    }

    // The same signal again leaves at once, after writing what is in order.
    [[noreturn]] void abort(int signal)
    {
        try {
            flush();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "\nwix-inbox: %s", e.what());
        }
        std::fputs(stateFile_ && !previous_ ? "\nwix-inbox: aborted; run again with --resume to continue\n"
                                            : "\nwix-inbox: aborted\n",
                   stderr);
        std::_Exit(128 + signal);
    }

    // Bounded loss on kill -9: at most a tick (a quarter second) of lines is not yet written.
    net::awaitable<void> tick()
    {
        while (!finished_) {
            ticker_.expires_after(progress_.tick());
            auto [ec] = co_await ticker_.async_wait(useTuple);
            if (ec || finished_ || fatal_)
                co_return;
            flush();
            if (options_.onTick)
                options_.onTick({output_.next() - 1, output_.failed(), scheduler_.lines(), tenants_.stats()});
            const auto now = Clock::now();
            if (!progress_.due(now))
                continue;
            ProgressView view;
            view.done = output_.next() - 1;
            view.failed = output_.failed();
            const auto stats = tenants_.stats();
            view.retries = stats.retries;
            view.throttled = stats.throttled;
            progress_.show(view, output_.ok() + output_.failed(), now);
        }
    }

    net::io_context& ioc_;
    Tenants& tenants_;
    const BatchOptions& options_;
    LineSource& source_;
    PreviousOutput* previous_;
    JobStateFile* stateFile_; // locked by the plan for the whole run
    JobState state_;          // what the state file says, or is about to
    bool stateWritten_ = false;
    SendJournal journal_; // before sends_, which refers to it
    SendContext sends_;
    OutputSink sink_;
    InOrderOutput output_; // writes to sink_
    std::optional<JobState> expected_;
    std::uint64_t skip_;        // input lines an earlier run settled (--resume)
    std::uint64_t linesBefore_; // lines in the output written by earlier runs (--resume)
    StopSignals& signals_;
    net::steady_timer ticker_;
    LineScheduler scheduler_;
    ProgressReport progress_;
    std::optional<std::uint64_t> inputLines_; // of a regular file, when the run started

    std::uint64_t nextRead_ = 1;
    std::unordered_map<std::uint64_t, net::cancellation_signal> cancels_; // of the lines in flight
    std::uint64_t readFingerprint_ = Fingerprint().value(); // of the input lines read so far
    bool finishedRun_ = false; // the whole input went through
    bool stopping_ = false;
    bool finished_ = false;
    std::exception_ptr fatal_;
    BatchSummary summary_;
};

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

BatchSummary runBatch(net::io_context& ioc, Tenants& tenants, StopSignals& signals, const BatchOptions& options)
{
    LineSource source(ioc, options.input);
    auto plan = planOutput(options, source);
    std::optional<PreviousOutput> previous;
    if (plan.retry)
        previous.emplace(options.output);
    Engine engine(ioc, tenants, signals, options, source, plan, previous ? &*previous : nullptr);
    return engine.run();
}

} // namespace wix::inbox::cli
