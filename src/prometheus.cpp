// SPDX-License-Identifier: BSL-1.0
#include <wix/inbox/prometheus.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <charconv>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace wix::inbox {
namespace {

namespace prom = prometheus;

// OpenTelemetry's advised buckets for http.client.request.duration, in seconds.
const prom::Histogram::BucketBoundaries durationBuckets{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                        0.5,   0.75, 1,     2.5,   5,     7.5, 10};

// A family's metrics by their label values, each made once: Family::Add builds a label map
// and takes the family's lock, too much for every event.
template <class T>
class Series {
public:
    Series(prom::Family<T>& family, std::vector<std::string> labelNames, bool tenantLabel)
        : family_(family), names_(std::move(labelNames))
    {
        if (tenantLabel)
            names_.push_back("tenant");
    }

    /// `values` in the order of the label names, the tenant's last (ignored without its label).
    template <class... Args>
    T& at(std::initializer_list<std::string_view> values, const Args&... args)
    {
        thread_local std::string key; // reused: no allocation once it has grown
        key.clear();
        for (std::size_t i = 0; i < names_.size(); ++i)
            key.append(values.begin()[i]).push_back('\x1f');
        {
            std::shared_lock lock(mutex_);
            if (const auto it = byKey_.find(key); it != byKey_.end())
                return *it->second;
        }
        prom::Labels labels;
        for (std::size_t i = 0; i < names_.size(); ++i)
            labels.emplace(names_[i], std::string(values.begin()[i]));
        std::unique_lock lock(mutex_);
        auto& metric = family_.Add(labels, args...); // the same metric if another thread just made it
        byKey_.emplace(key, &metric);
        return metric;
    }

private:
    prom::Family<T>& family_;
    std::vector<std::string> names_;
    std::shared_mutex mutex_;
    std::unordered_map<std::string, T*> byKey_;
};

std::string_view decimal(int value, std::array<char, 12>& buffer)
{
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return {buffer.data(), static_cast<std::size_t>(end - buffer.data())};
}

prom::Family<prom::Counter>& counter(prom::Registry& registry, const char* name, const char* help)
{
    return prom::BuildCounter().Name(name).Help(help).Register(registry);
}

prom::Family<prom::Gauge>& gauge(prom::Registry& registry, const char* name, const char* help)
{
    return prom::BuildGauge().Name(name).Help(help).Register(registry);
}

} // namespace

struct PrometheusObserver::Metrics {
    Metrics(prom::Registry& r, bool tenant)
        : duration(prom::BuildHistogram()
                       .Name("http_client_request_duration_seconds")
                       .Help("Duration of HTTP client requests (each attempt, connection wait included).")
                       .Register(r),
                   {"http_request_method", "url_template", "http_response_status_code", "error_type"}, tenant)
        , attempts(counter(r, "wix_inbox_attempts_total", "Requests sent or tried, retries included."),
                   {"operation"}, tenant)
        , retries(counter(r, "wix_inbox_retries_total", "Requests sent again after a failure."), {"operation"},
                  tenant)
        , throttled(counter(r, "wix_inbox_throttled_total",
                            "Answers that asked to slow down: 429, or 503 naming a wait."),
                    {"operation", "http_response_status_code"}, tenant)
        , tokenRequests(counter(r, "wix_inbox_token_requests_total", "OAuth token requests, by their error (\"\": ok)."),
                        {"error_type"}, tenant)
        , cacheLookups(counter(r, "wix_inbox_conversation_cache_lookups_total",
                               "Conversation cache lookups: hit, miss, joined (a miss sharing another call's request)."),
                       {"result"}, tenant)
        , connections(counter(r, "wix_inbox_connections_total",
                              "Pooled connections opened, reused and closed (with the reason of a close)."),
                      {"event", "reason"}, false)
        , rateLimitWait(counter(r, "wix_inbox_rate_limit_wait_seconds_total",
                                "Time calls waited for their turn from the client-side rate limiter."),
                        {}, tenant)
        , pool(gauge(r, "wix_inbox_pool_connections", "The pool's connections, by state (at the last sample)."))
        , open(pool.Add({{"state", "open"}}))
        , idle(pool.Add({{"state", "idle"}}))
        , inUse(pool.Add({{"state", "in_use"}}))
        , connecting(pool.Add({{"state", "connecting"}}))
        , waiters(gauge(r, "wix_inbox_pool_waiters", "Calls queued for a connection (at the last sample).").Add({}))
        , rate(gauge(r, "wix_inbox_rate_limit_requests_per_second",
                     "The rate the client-side limiter enforces; 0 while it does not limit (at the last sample).")
                   .Add({}))
    {
    }

    Series<prom::Histogram> duration;
    Series<prom::Counter> attempts, retries, throttled, tokenRequests, cacheLookups, connections, rateLimitWait;
    prom::Family<prom::Gauge>& pool;
    prom::Gauge &open, &idle, &inUse, &connecting, &waiters, &rate;
};

PrometheusObserver::PrometheusObserver(prometheus::Registry& registry, PrometheusOptions options)
    : metrics_(std::make_unique<Metrics>(registry, options.tenantLabel))
{
}

PrometheusObserver::~PrometheusObserver() = default;

void PrometheusObserver::onAttemptEnd(const AttemptEnd& event)
{
    const auto& call = event.call;
    std::array<char, 12> buffer;
    const auto status = event.statusCode ? decimal(event.statusCode, buffer) : std::string_view();
    metrics_->duration
        .at({call.method, call.urlTemplate, status, event.errorType, call.tenant}, durationBuckets)
        .Observe(std::chrono::duration<double>(event.duration).count());
    metrics_->attempts.at({call.operation, call.tenant}).Increment();
}

void PrometheusObserver::onRetry(const RetryEvent& event)
{
    metrics_->retries.at({event.call.operation, event.call.tenant}).Increment();
}

void PrometheusObserver::onThrottle(const ThrottleEvent& event)
{
    std::array<char, 12> buffer;
    metrics_->throttled.at({event.call.operation, decimal(event.statusCode, buffer), event.call.tenant}).Increment();
}

void PrometheusObserver::onRateLimitWait(const RateLimitWaitEvent& event)
{
    metrics_->rateLimitWait.at({event.call.tenant}).Increment(std::chrono::duration<double>(event.waited).count());
}

void PrometheusObserver::onTokenRequest(const TokenRequestEvent& event)
{
    metrics_->tokenRequests.at({event.ok ? std::string_view() : event.errorType, event.tenant}).Increment();
}

void PrometheusObserver::onConnection(const ConnectionEvent& event)
{
    const bool closed = event.kind == ConnectionEvent::Kind::closed;
    metrics_->connections.at({toString(event.kind), closed ? toString(event.reason) : std::string_view()}).Increment();
}

void PrometheusObserver::onCacheLookup(const CacheLookupEvent& event)
{
    const std::string_view result = event.hit ? "hit" : event.joined ? "joined" : "miss";
    metrics_->cacheLookups.at({result, event.tenant}).Increment();
}

void PrometheusObserver::sample(const ClientStats& stats)
{
    metrics_->open.Set(static_cast<double>(stats.pool.open));
    metrics_->idle.Set(static_cast<double>(stats.pool.idle));
    metrics_->inUse.Set(static_cast<double>(stats.pool.inUse));
    metrics_->connecting.Set(static_cast<double>(stats.pool.connecting));
    metrics_->waiters.Set(static_cast<double>(stats.pool.waiters));
    metrics_->rate.Set(stats.rateLimit);
}

} // namespace wix::inbox
