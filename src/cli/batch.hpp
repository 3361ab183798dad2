// SPDX-License-Identifier: BSL-1.0
// `wix-inbox batch`: resolve an NDJSON file of participants (or conversation IDs) through
// the client, writing exactly one output line per input line, in input order, with bounded
// memory, and resumable after any interruption.
#pragma once

#include "ndjson.hpp"
#include "shard.hpp"
#include "stop_signals.hpp"
#include "tenants.hpp"

#include <wix/inbox/client.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace wix::inbox::cli {

/// Where a running batch stands (BatchOptions::onTick).
struct BatchTick {
    std::uint64_t done = 0;     ///< lines written, those of earlier runs (--resume) included
    std::uint64_t failed = 0;   ///< of this run
    std::uint64_t inFlight = 0; ///< lines started and not yet done
    ClientStats stats;          ///< the tenants' clients' statistics, summed
};

struct BatchOptions {
    std::string input = "-";
    std::string output = "-";
    std::size_t concurrency = 64;
    bool resume = false;
    bool overwrite = false; ///< replace a non-empty output; without it (or resume) that is refused
    std::optional<Shard> shard;
    /// Call again the lines a finished run's output has failed, keeping its other lines byte
    /// for byte. The output is replaced only once the pass is complete (a temporary file
    /// renamed over it); an interrupted pass leaves it as it was.
    bool retryFailed = false;
    /// The client's deadline of one call (--timeout-ms); a line's calls never outlast its own limit.
    std::chrono::milliseconds callTimeout{std::chrono::seconds(30)};
    /// How long a line may be retried after transient failures (--line-timeout). Default 10 min.
    std::chrono::milliseconds lineTimeout{std::chrono::minutes(10)};
    /// With no call answered at all for this long, the job stops, resumable (--give-up-after).
    /// Default 5 min.
    std::chrono::milliseconds giveUpAfter{std::chrono::minutes(5)};
    /// Where standard error is not a terminal: a JSON progress line this often
    /// (--progress-interval). 0: none. Default 10 s.
    std::chrono::milliseconds progressInterval{std::chrono::seconds(10)};
    /// Nothing on standard error but errors: no progress, no notes (--quiet).
    bool quiet = false;
    /// Told of the job every quarter second, on the batch's thread (--metrics-port).
    std::function<void(const BatchTick&)> onTick;
};

/// A batch that stopped on an error: what stopped it, and what the user can do about it
/// (printed on a line of its own).
class BatchStopped : public std::runtime_error {
public:
    BatchStopped(const std::string& what, std::string hint) : std::runtime_error(what), hint(std::move(hint)) {}
    std::string hint;
};

struct BatchSummary {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::uint64_t skipped = 0; ///< lines already done by an earlier run (--resume)
    std::uint64_t lineRetries = 0; ///< calls made again for a line after a transient failure
    /// Sends: ListMessages calls made to learn whether a send whose outcome was unknown (or
    /// interrupted by a kill) took effect, and the lines found sent that way (not sent again).
    std::uint64_t reconciliationRequests = 0;
    std::uint64_t reconciled = 0;
    bool interrupted = false;
    int signal = 0; ///< the signal that stopped it (SIGINT, SIGTERM, SIGHUP), when interrupted
};

/// What --dry-run reports: what the batch would do, read from its input alone (no call is
/// made: a participant's conversation is counted by participant, not resolved).
struct DryRun {
    std::uint64_t lines = 0;
    std::uint64_t malformed = 0;     ///< lines that would get an input error
    std::uint64_t sends = 0;         ///< lines that would send a message
    std::uint64_t otherCalls = 0;    ///< lines that would resolve or read a conversation
    std::uint64_t conversations = 0; ///< distinct participants or conversation IDs sent to
    std::uint64_t tenants = 0;       ///< distinct siteId / instanceId named
};
/// Reads the whole input (`options.input`, `-` for standard input). Throws
/// std::runtime_error if it cannot be read.
DryRun dryRun(const BatchOptions& options);

/// Runs the batch on `ioc` (the clients' io_context). A line that names a tenant ("siteId",
/// "instanceId") is called with that tenant's client (cli/tenants.hpp).
///
/// Transient failures (isTransient(), or no pooled connection in time) never fail a line
/// while its --line-timeout allows: the line is called again after a jittered pause (250 ms
/// doubling to 1 s; 1 s doubling to 16 s while four calls in five fail). While four in five
/// fail, the job also halves its calls in flight (down to one, which then probes alone: no
/// new line starts), growing back by one per that many successes, as TCP's window. With
/// no answer at all for --give-up-after, it stops, resumable, instead of failing the rest
/// of the input. A stop signal (`signals`, queued ones included) cancels the calls in flight
/// at once; complete lines are kept (BatchSummary::signal says which).
///
/// A run with an output file keeps `OUTPUT.wix-inbox-state` beside it (cli/job_state.hpp),
/// locked for the whole run: a second run on the same output is refused. When lines send
/// messages, `OUTPUT.wix-inbox-journal` (cli/send_journal.hpp) makes a line's message go once
/// across kills, lost answers, resumes and --retry-failed (docs/bulk-send.md).
///
/// Throws std::runtime_error for fatal problems, before anything is written where it can:
/// the input and output are the same file, another run holds the output (JobBusy), a
/// non-empty output without resume or overwrite, a resume or retry of another input's output
/// (any line differing, for a regular file), a journal missing, damaged or another job's; and
/// during the run: unreadable input, unwritable output or journal (a full disk), a line that
/// differs from its journal entry, nothing answered for --give-up-after.
BatchSummary runBatch(boost::asio::io_context& ioc, Tenants& tenants, StopSignals& signals, const BatchOptions& options);

} // namespace wix::inbox::cli
