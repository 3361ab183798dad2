// SPDX-License-Identifier: BSL-1.0
// `wix-inbox batch` as a command: its options, their checks, --dry-run, and the run with its
// summary (on standard error, and as JSON with --summary-file). The job itself is runBatch()
// (cli/batch.hpp).
#pragma once

#include "batch.hpp"
#include "commands.hpp"
#include "stop_signals.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace wix::inbox::cli {

class MetricsEndpoint;

struct BatchArgs : CommandArgs {
    BatchArgs();
    ~BatchArgs() override;
    BatchOptions batch;
    std::string concurrency = "64", lineTimeout = "10m", giveUpAfter = "5m", progressInterval = "10s", summaryFile;
    std::optional<std::string> metricsPortText, metricsAddressGiven;
    std::optional<std::uint16_t> metricsPort;
    std::unique_ptr<MetricsEndpoint> metrics; // with --metrics-port, from prepare() on
    std::optional<std::string> shard, shardCount; // given (even empty), or not
    bool dryRunOnly = false;
    std::optional<StopSignals> signals;

    void options(boost::program_options::options_description& into) override;
    std::optional<std::string> check(const GlobalSettings& global) override;
    /// --dry-run: what the batch would do, calling nothing.
    std::optional<int> runLocal() override;
    /// Exit status 0, 2 when lines failed, 128 + the signal when one stopped it.
    int run(const Session& session) override;
    /// Watches the stop signals, and serves /metrics with --metrics-port.
    void prepare(boost::asio::io_context& ioc) override;
    /// The metrics' observer with --metrics-port, else none.
    std::shared_ptr<Observer> observer() override;
    /// The calls in flight, up to 256: beyond that calls wait their turn for a connection, as
    /// cheap as a coroutine.
    std::size_t defaultConnections() const override;
    bool linesNameTenants() const override { return true; }
};

} // namespace wix::inbox::cli
