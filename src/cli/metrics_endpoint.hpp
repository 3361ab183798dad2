// SPDX-License-Identifier: BSL-1.0
// --metrics-port of `wix-inbox batch` and `wix-inbox-bench`: the client's metrics
// (wix/inbox/prometheus.hpp), and a batch's own, served as Prometheus text at /metrics
// while the job runs.
#pragma once

#include <wix/inbox/prometheus.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace prometheus {
class Exposer;
class Gauge;
class Registry;
} // namespace prometheus

namespace wix::inbox::cli {

class MetricsEndpoint {
public:
    /// Serves http://ADDRESS:PORT/metrics at once (port 0: a free one) on threads of its own,
    /// and writes {"metrics":"http://ADDRESS:PORT/metrics"} as one line on standard error.
    /// With `batchLines`, the gauges of batchLines() too. Throws std::runtime_error if it
    /// cannot listen there.
    MetricsEndpoint(const std::string& address, std::uint16_t port, bool batchLines);
    /// Why --metrics-address cannot be listened on (not an IPv4 address), or nothing.
    static std::optional<std::string> addressProblem(const std::string& address);
    ~MetricsEndpoint();

    /// The observer to give the clients; its gauges are set by sample().
    const std::shared_ptr<PrometheusObserver>& observer() const { return observer_; }

    /// A batch's lines: written (resumed ones included), failed, and started but not written.
    /// Thread-safe, as sample() is. Only for an endpoint made with `batchLines`.
    void batchLines(std::uint64_t done, std::uint64_t failed, std::uint64_t inFlight);

private:
    std::shared_ptr<prometheus::Registry> registry_;
    std::shared_ptr<PrometheusObserver> observer_;
    prometheus::Gauge *done_ = nullptr, *failed_ = nullptr, *inFlight_ = nullptr;
    std::unique_ptr<prometheus::Exposer> exposer_; // last: stops serving before the rest goes
};

} // namespace wix::inbox::cli
