// SPDX-License-Identifier: BSL-1.0
// wix::inbox::PrometheusObserver: a Client's work as Prometheus metrics, on a
// prometheus::Registry of yours (prometheus-cpp). An optional component of the package:
// find_package(wix-inbox COMPONENTS prometheus), target wix::inbox_prometheus.
//
//     auto registry = std::make_shared<prometheus::Registry>();
//     auto metrics = std::make_shared<wix::inbox::PrometheusObserver>(*registry);
//     options.observer = metrics;              // or in a FanOutObserver with others
//     prometheus::Exposer exposer("127.0.0.1:9464");
//     exposer.RegisterCollectable(registry);
//     ...                                      // now and then, e.g. once a second:
//     metrics->sample(client.stats());
//
// Exported (names after OpenTelemetry's HTTP client conventions where there is one):
// - http_client_request_duration_seconds, a histogram of every attempt (connection wait
//   included), buckets 5 ms .. 10 s as OpenTelemetry advises, labelled
//   http_request_method, url_template, http_response_status_code ("" without a response)
//   and error_type ("" for a 2xx; the status, or the error's name: "timeout", ...);
// - counters wix_inbox_attempts_total, wix_inbox_retries_total, wix_inbox_throttled_total
//   (by operation), wix_inbox_token_requests_total (by error_type),
//   wix_inbox_conversation_cache_lookups_total (result "hit", "miss", "joined": a miss that
//   shared another call's request), wix_inbox_connections_total (event "opened", "reused",
//   "closed" and the reason of a close), wix_inbox_rate_limit_wait_seconds_total;
// - gauges set by sample(): wix_inbox_pool_connections (state "open", "idle", "in_use",
//   "connecting"), wix_inbox_pool_waiters, wix_inbox_rate_limit_requests_per_second.
//
// Cardinality is bounded: URL templates, never URLs or IDs; no request ID. The `tenant`
// label (PrometheusOptions::tenantLabel, off by default) adds one series per tenant to each
// metric: use it only with a bounded number of tenants. No label or value holds a secret.
//
// Threads and cost: every callback, and sample(), is thread-safe. A label set's metric is
// made once, then found again by a hash lookup under a shared (reader) lock; an attempt then
// costs that lookup twice, the histogram's own short lock and an atomic add: about half a
// microsecond on one core, against the milliseconds of the request it times.
//
// Lifetime: the families live in the registry, which must outlive the observer (the
// observer lives as long as the Clients that hold it). Two observers on one registry share
// its series, which then add up both Clients' events.
#pragma once

#include <wix/inbox/client.hpp>
#include <wix/inbox/observer.hpp>

#include <memory>

namespace prometheus {
class Registry;
}

namespace wix::inbox {

struct PrometheusOptions {
    /// A `tenant` label ("site:ID", "instance:ID", ...; observer.hpp) on the metrics of calls,
    /// token requests and cache lookups. Default off: a series per tenant is unbounded.
    bool tenantLabel = false;
};

class PrometheusObserver : public Observer {
public:
    /// Registers the families on `registry` (or finds those another PrometheusObserver
    /// registered). Throws std::invalid_argument if it holds one of these names as another
    /// kind of metric, or with constant labels.
    explicit PrometheusObserver(prometheus::Registry& registry, PrometheusOptions options = {});
    ~PrometheusObserver() override;
    PrometheusObserver(const PrometheusObserver&) = delete;
    PrometheusObserver& operator=(const PrometheusObserver&) = delete;

    void onAttemptEnd(const AttemptEnd& event) override;
    void onRetry(const RetryEvent& event) override;
    void onThrottle(const ThrottleEvent& event) override;
    void onRateLimitWait(const RateLimitWaitEvent& event) override;
    void onTokenRequest(const TokenRequestEvent& event) override;
    void onConnection(const ConnectionEvent& event) override;
    void onCacheLookup(const CacheLookupEvent& event) override;

    /// Sets the gauges from a Client's statistics (the pool's connections and waiters, the
    /// rate limiter's rate): events do not tell them. For several tenants' Clients, pass their
    /// statistics summed (the pool's are their shared pool's once).
    void sample(const ClientStats& stats);

private:
    struct Metrics;
    std::unique_ptr<Metrics> metrics_;
};

} // namespace wix::inbox
