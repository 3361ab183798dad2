// SPDX-License-Identifier: BSL-1.0
#include "batch_command.hpp"

#ifdef WIX_INBOX_METRICS
#include "metrics_endpoint.hpp"
#endif
#include "option_values.hpp"
#include "shard.hpp"
#include "summary.hpp"
#include "tenants.hpp"

#include <boost/json/serialize.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <tuple>

namespace wix::inbox::cli {
namespace po = boost::program_options;

#ifndef WIX_INBOX_METRICS
class MetricsEndpoint {}; // never made: --metrics-port is refused
#endif

BatchArgs::BatchArgs() = default;
BatchArgs::~BatchArgs() = default;

void BatchArgs::options(po::options_description& d)
{
    d.add_options()
        ("input", po::value(&batch.input)->default_value("-"), "NDJSON input file, - for stdin")
        ("output", po::value(&batch.output)->default_value("-"), "NDJSON output file, - for stdout")
        ("concurrency", po::value(&concurrency)->default_value(concurrency), "calls in flight: 1-100000")
        ("line-timeout", po::value(&lineTimeout)->default_value(lineTimeout), "how long a line is called again "
                                                                               "after transient failures before "
                                                                               "it fails (500ms, 30s, 10m, 2h)")
        ("give-up-after", po::value(&giveUpAfter)->default_value(giveUpAfter), "stop, resumable, when no call "
                                                                               "has been answered for this long")
        ("shard", po::value<std::string>()->notifier([this](const std::string& v) { shard = v; }),
         "K/N: only the lines whose tenant (else participant or conversation) hashes to K of N (0 <= K < N), for N "
         "workers over one input; auto: K and N from the job runner (Kubernetes Indexed Job, Slurm or AWS Batch "
         "array, Cloud Run job)")
        ("shard-count", po::value<std::string>()->notifier([this](const std::string& v) { shardCount = v; }),
         "N for --shard auto where the runner does not export it (Kubernetes: the Job's completions)")
        ("resume", po::bool_switch(&batch.resume), "continue an interrupted run where its output ends")
        ("retry-failed", po::bool_switch(&batch.retryFailed), "call again the failed lines of a finished "
                                                              "output, keeping its other lines as they are")
        ("progress-interval", po::value(&progressInterval)->default_value(progressInterval),
         "where stderr is not a terminal, a JSON progress line this often (500ms, 10s, 1m); 0: none")
        ("summary-file", po::value(&summaryFile), "write the summary as one JSON object to this file as well "
                                                  "(replaced whole; a symlink is refused)")
        ("overwrite", po::bool_switch(&batch.overwrite), "replace an existing non-empty output")
        ("metrics-port", po::value<std::string>()->notifier([this](const std::string& v) { metricsPortText = v; }),
         "serve Prometheus metrics at http://ADDRESS:PORT/metrics while the batch runs; 0 takes a free port (a "
         "first line on stderr names it: {\"metrics\":URL})")
        ("metrics-address", po::value<std::string>()->notifier([this](const std::string& v) { metricsAddressGiven = v; }),
         "the address --metrics-port listens on (default 127.0.0.1)")
        ("dry-run", po::bool_switch(&dryRunOnly), "read the input and print what the batch would do (lines, "
                                                  "sends, conversations), calling nothing");
}

std::optional<std::string> BatchArgs::check(const GlobalSettings& global)
{
    std::string problem;
    const auto inFlight = wholeNumber("concurrency", concurrency, 1, 100'000, problem);
    for (auto [flag, text, into] : {std::tuple{"--line-timeout", &lineTimeout, &batch.lineTimeout},
                                    std::tuple{"--give-up-after", &giveUpAfter, &batch.giveUpAfter}}) {
        const auto d = parseDuration(*text);
        if (!d && problem.empty())
            problem = std::string(flag) + " takes a duration such as 500ms, 30s, 10m or 2h (at most 30 days)";
        *into = d.value_or(*into);
    }
    if (progressInterval == "0")
        batch.progressInterval = std::chrono::milliseconds(0);
    else if (const auto d = parseDuration(progressInterval))
        batch.progressInterval = *d;
    else if (problem.empty())
        problem = "--progress-interval takes a duration such as 500ms, 10s or 1m, or 0";
    if (shard || shardCount) {
        // Given empty (an unset variable in a job template) it is refused, never read as "no shard".
        auto parsed = parseShard(shard.value_or(""), shardCount, processEnvironment);
        if (auto* s = std::get_if<Shard>(&parsed))
            batch.shard = *s;
        else if (problem.empty())
            problem = std::get<std::string>(parsed);
    }
    if (metricsPortText) {
        const auto port = wholeNumber("metrics-port", *metricsPortText, 0, 65535, problem);
#ifndef WIX_INBOX_METRICS
        if (port && problem.empty())
            problem = "--metrics-port: this wix-inbox was built without Prometheus metrics (prometheus-cpp was not "
                      "found when it was built)";
#endif
        if (port)
            metricsPort = static_cast<std::uint16_t>(*port);
#ifdef WIX_INBOX_METRICS
        if (metricsAddressGiven && problem.empty())
            problem = MetricsEndpoint::addressProblem(*metricsAddressGiven).value_or("");
#endif
    } else if (metricsAddressGiven && problem.empty()) {
        problem = "--metrics-address goes with --metrics-port";
    }
    if (batch.retryFailed && (batch.resume || batch.overwrite || batch.shard))
        problem = "--retry-failed goes alone: not with --resume, --overwrite or --shard (the output's record knows its "
                  "shard)";
    if (problem.empty() && !summaryFile.empty())
        problem = summaryFileClash(summaryFile, batch).value_or("");
    if (!problem.empty())
        return problem;
    batch.concurrency = static_cast<std::size_t>(*inFlight);
    batch.callTimeout = global.callTimeout;
    batch.quiet = global.quiet;
    if (global.connections && *global.connections < batch.concurrency && !global.quiet)
        std::cerr << "wix-inbox: note: --connections " << *global.connections << " < --concurrency "
                  << batch.concurrency << ": at most " << *global.connections
                  << " calls are on the wire at once, the rest wait for a connection\n";
    return std::nullopt;
}

std::optional<int> BatchArgs::runLocal()
{
    if (!dryRunOnly)
        return std::nullopt;
    const auto r = dryRun(batch);
    std::cout << boost::json::serialize(boost::json::object{
                     {"lines", r.lines}, {"malformed", r.malformed}, {"sends", r.sends},
                     {"otherCalls", r.otherCalls}, {"conversations", r.conversations}, {"tenants", r.tenants}})
              << "\n";
    return 0;
}

void BatchArgs::prepare(boost::asio::io_context& ioc)
{
    signals.emplace(ioc);
#ifdef WIX_INBOX_METRICS
    if (metricsPort) {
        metrics = std::make_unique<MetricsEndpoint>(metricsAddressGiven.value_or("127.0.0.1"), *metricsPort, true);
        batch.onTick = [endpoint = metrics.get()](const BatchTick& tick) {
            endpoint->batchLines(tick.done, tick.failed, tick.inFlight);
            endpoint->observer()->sample(tick.stats);
        };
    }
#endif
}

std::shared_ptr<Observer> BatchArgs::observer()
{
#ifdef WIX_INBOX_METRICS
    if (metrics)
        return metrics->observer();
#endif
    return nullptr;
}

std::size_t BatchArgs::defaultConnections() const
{
    return std::min<std::size_t>(batch.concurrency, 256);
}

int BatchArgs::run(const Session& session)
{
    const auto start = std::chrono::steady_clock::now();
    Tenants tenants(session.client, session.credentials, session.global.emulator);
    const auto summary = runBatch(session.ioc, tenants, *signals, batch);
    // The job is done (or stopped): a stop signal from here on, while the metrics server stops
    // or the summary is written, has nothing left to stop and must not change the exit status.
    signals.reset();
    for (const int s : {SIGINT, SIGTERM, SIGHUP})
        std::signal(s, SIG_IGN);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto stats = tenants.stats();
    const auto calls = summary.ok + summary.failed;
    if (!summaryFile.empty())
        writeSummaryFile(summaryFile, summaryJson(summary, stats, seconds, tenants.size()));
    const bool quiet = session.global.quiet;
    if (!quiet)
        std::fprintf(stderr,
                     "wix-inbox: batch %s: %llu lines: %llu ok, %llu failed, %llu retries (%llu of lines), %llu throttled, "
                     "%.2f s, %.0f calls/s, up to %zu in flight over %llu connections%s%s\n",
                     summary.interrupted ? "interrupted" : "done", static_cast<unsigned long long>(calls),
                     static_cast<unsigned long long>(summary.ok), static_cast<unsigned long long>(summary.failed),
                     static_cast<unsigned long long>(stats.retries) + summary.lineRetries,
                     static_cast<unsigned long long>(summary.lineRetries), static_cast<unsigned long long>(stats.throttled),
                     seconds, seconds > 0 ? static_cast<double>(calls) / seconds : 0.0, batch.concurrency,
                     static_cast<unsigned long long>(stats.pool.connectionsOpened),
                     tenants.size() ? (", " + std::to_string(tenants.size()) + " tenants, " + std::to_string(
                                           stats.tokenRequests) + " token requests").c_str() : "",
                     summary.skipped ? (" (" + std::to_string(summary.skipped) + " lines done before)").c_str() : "");
    if (summary.reconciliationRequests > 0 && !quiet)
        std::fprintf(stderr, "wix-inbox: %llu reconciliation requests found %llu messages already sent (not sent again)\n",
                     static_cast<unsigned long long>(summary.reconciliationRequests),
                     static_cast<unsigned long long>(summary.reconciled));
    if (summary.interrupted) {
        if (batch.output != "-" && !batch.retryFailed && !quiet) // standard output cannot be resumed
            std::cerr << "wix-inbox: run the same command with --resume to continue\n";
        return 128 + summary.signal; // as a shell reports a process the signal ended
    }
    return summary.failed ? 2 : 0;
}

} // namespace wix::inbox::cli
