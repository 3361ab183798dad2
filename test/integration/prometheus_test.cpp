// SPDX-License-Identifier: BSL-1.0
// PrometheusObserver on a four-thread io_context with two tenants and faults: its series
// agree with the clients' own statistics, carry templates and tenants only, and no secret.
#define BOOST_TEST_MODULE prometheus
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <wix/inbox.hpp>
#include <wix/inbox/prometheus.hpp>

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

using namespace wix::inbox;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;

namespace {

const std::string apiKey = "KEY-s3cr3t-api-key";

std::string label(const prometheus::ClientMetric& m, const std::string& name)
{
    for (const auto& l : m.label)
        if (l.name == name)
            return l.value;
    return "(none)";
}

// The values of one family's counters, or its histograms' counts, summed by one label.
std::map<std::string, double> byLabel(const std::vector<prometheus::MetricFamily>& families, const std::string& family,
                                      const std::string& name)
{
    std::map<std::string, double> out;
    for (const auto& f : families)
        if (f.name == family)
            for (const auto& m : f.metric)
                out[label(m, name)] += f.type == prometheus::MetricType::Histogram
                                           ? static_cast<double>(m.histogram.sample_count)
                                           : f.type == prometheus::MetricType::Gauge ? m.gauge.value : m.counter.value;
    return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(series_agree_with_the_clients_statistics_across_threads_and_tenants)
{
    emulator::Options eo;
    eo.auth.required = true;
    eo.auth.apiKeys = {apiKey};
    eo.faults.status503 = 0.2;
    eo.faults.retryAfterSeconds = 0;
    Emulator emu(eo);
    prometheus::Registry registry;
    auto metrics = std::make_shared<PrometheusObserver>(registry, PrometheusOptions{.tenantLabel = true});
    auto options = test::optionsFor(emu);
    options.credentials = ApiKey{apiKey, "site-1", ""};
    options.observer = metrics;
    options.conversationCache.capacity = 100;
    net::io_context ioc(4);
    std::optional<Client> client;
    client.emplace(ioc.get_executor(), options);
    auto tenant = client->forTenant(ApiKey{apiKey, "site-2", ""});
    std::atomic<int> done{0};
    constexpr int calls = 200;
    for (int i = 0; i < calls; ++i)
        net::co_spawn(ioc, (i % 2 ? *client : tenant).getOrCreateConversation(ParticipantId::member(guid(i % 50))),
                      [&](std::exception_ptr, test::GetOrCreateResult) {
                          if (++done == calls) {
                              metrics->sample(client->stats());
                              client->close();
                              tenant.close();
                          }
                      });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] { ioc.run(); });
    for (auto& t : threads)
        t.join();

    const auto one = client->stats(), two = tenant.stats();
    const auto families = registry.Collect();
    const auto attempts = byLabel(families, "wix_inbox_attempts_total", "tenant");
    BOOST_TEST(attempts.size() == 2u);
    BOOST_TEST(attempts.at("site:site-1") == static_cast<double>(one.attempts));
    BOOST_TEST(attempts.at("site:site-2") == static_cast<double>(two.attempts));
    const auto histogram = byLabel(families, "http_client_request_duration_seconds", "tenant");
    BOOST_TEST(histogram.at("site:site-1") == static_cast<double>(one.attempts));
    BOOST_TEST(histogram.at("site:site-2") == static_cast<double>(two.attempts));
    const auto retries = byLabel(families, "wix_inbox_retries_total", "tenant");
    BOOST_TEST(retries.at("site:site-1") + retries.at("site:site-2") == static_cast<double>(one.retries + two.retries));
    BOOST_TEST(one.retries + two.retries > 0u); // the faults were met
    auto lookups = byLabel(families, "wix_inbox_conversation_cache_lookups_total", "result");
    BOOST_TEST(lookups["hit"] == static_cast<double>(one.conversationCache.hits + two.conversationCache.hits));
    BOOST_TEST(lookups["joined"] == static_cast<double>(one.conversationCache.coalesced + two.conversationCache.coalesced));
    BOOST_TEST(lookups["hit"] + lookups["joined"] + lookups["miss"] == calls);
    const auto connections = byLabel(families, "wix_inbox_connections_total", "event");
    BOOST_TEST(connections.at("opened") == static_cast<double>(one.pool.connectionsOpened));
    const auto templates = byLabel(families, "http_client_request_duration_seconds", "url_template");
    BOOST_TEST(templates.size() == 1u);
    BOOST_TEST(templates.begin()->first == "/inbox/v2/conversations");
    const auto errors = byLabel(families, "http_client_request_duration_seconds", "error_type");
    BOOST_TEST(errors.at("503") > 0);
    const auto pool = byLabel(families, "wix_inbox_pool_connections", "state");
    BOOST_TEST(pool.at("open") >= 1); // sampled before close()
    BOOST_TEST(pool.at("open") >= pool.at("idle"));

    const auto text = prometheus::TextSerializer().Serialize(families);
    BOOST_TEST(text.find("s3cr3t") == std::string::npos);
    BOOST_TEST(text.find(guid(1)) == std::string::npos);
}

// Two observers on one registry share its series; a name taken by another kind is refused.
BOOST_AUTO_TEST_CASE(a_registry_takes_two_observers_and_refuses_a_clash)
{
    prometheus::Registry shared;
    PrometheusObserver a(shared), b(shared);
    AttemptEnd end;
    end.call.operation = "GetConversation";
    a.onAttemptEnd(end);
    b.onAttemptEnd(end);
    BOOST_TEST(byLabel(shared.Collect(), "wix_inbox_attempts_total", "operation").at("GetConversation") == 2);

    prometheus::Registry clash;
    prometheus::BuildGauge().Name("wix_inbox_attempts_total").Help("another").Register(clash);
    BOOST_CHECK_THROW(PrometheusObserver{clash}, std::invalid_argument);
}
