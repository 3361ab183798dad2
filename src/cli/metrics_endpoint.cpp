// SPDX-License-Identifier: BSL-1.0
#include "metrics_endpoint.hpp"

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <boost/json/serialize.hpp>

#include <iostream>
#include <stdexcept>

namespace wix::inbox::cli {
namespace {

// civetweb's form: an IPv6 address in brackets.
std::string hostPort(const std::string& address, int port)
{
    const auto host = address.find(':') == std::string::npos ? address : "[" + address + "]";
    return host + ":" + std::to_string(port);
}

} // namespace

MetricsEndpoint::MetricsEndpoint(const std::string& address, std::uint16_t port, bool batchLines)
    : registry_(std::make_shared<prometheus::Registry>())
    , observer_(std::make_shared<PrometheusObserver>(*registry_))
{
    if (batchLines) {
        auto& lines = prometheus::BuildGauge()
                          .Name("wix_inbox_batch_lines")
                          .Help("The batch's input lines: done (written, resumed ones included), failed, in_flight.")
                          .Register(*registry_);
        done_ = &lines.Add({{"state", "done"}});
        failed_ = &lines.Add({{"state", "failed"}});
        inFlight_ = &lines.Add({{"state", "in_flight"}});
    }
    try {
        // One thread: a scrape is a few kilobytes of text, and the job's threads come first.
        exposer_ = std::make_unique<prometheus::Exposer>(hostPort(address, port), 1);
    } catch (const std::exception& e) {
        throw std::runtime_error("--metrics-port: cannot listen on " + hostPort(address, port) + ": " + e.what());
    }
    exposer_->RegisterCollectable(registry_);
    const auto ports = exposer_->GetListeningPorts();
    if (ports.empty())
        throw std::runtime_error("--metrics-port: cannot listen on " + hostPort(address, port));
    std::cerr << boost::json::serialize(boost::json::object{
                     {"metrics", "http://" + hostPort(address, ports.front()) + "/metrics"}})
              << std::endl;
}

MetricsEndpoint::~MetricsEndpoint() = default;

void MetricsEndpoint::batchLines(std::uint64_t done, std::uint64_t failed, std::uint64_t inFlight)
{
    done_->Set(static_cast<double>(done));
    failed_->Set(static_cast<double>(failed));
    inFlight_->Set(static_cast<double>(inFlight));
}

} // namespace wix::inbox::cli
