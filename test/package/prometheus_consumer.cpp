// SPDX-License-Identifier: BSL-1.0
// The Prometheus component as users link it: a PrometheusObserver's families on a registry.
#include <wix/inbox/prometheus.hpp>

#include <prometheus/registry.h>

#include <cstdio>

int main()
{
    prometheus::Registry registry;
    wix::inbox::PrometheusObserver metrics(registry);
    metrics.onAttemptEnd({});
    const auto families = registry.Collect();
    std::printf("%zu metric families\n", families.size());
    return families.empty() ? 1 : 0;
}
