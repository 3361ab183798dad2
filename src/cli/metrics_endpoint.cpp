// SPDX-License-Identifier: BSL-1.0
#include "metrics_endpoint.hpp"

#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <boost/asio/ip/address.hpp>
#include <boost/json/serialize.hpp>

#include <iostream>
#include <stdexcept>
#include <vector>

namespace wix::inbox::cli {

std::optional<std::string> MetricsEndpoint::addressProblem(const std::string& address)
{
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(address, ec);
    if (ec)
        return "--metrics-address takes an IPv4 address, such as 127.0.0.1 or 0.0.0.0 (all interfaces)";
    if (!ip.is_v4()) // civetweb, as Debian 12 builds it, listens on IPv4 only
        return "--metrics-address takes an IPv4 address: the metrics server has no IPv6";
    return std::nullopt;
}

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
    const auto where = address + ":" + std::to_string(port);
    try {
        // A scrape is a few kilobytes of text and the job's threads come first, but one
        // connection that sends nothing must not hold the scrapers off: a few threads, and a
        // request that does not come whole within seconds is dropped.
        exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", where, "num_threads", "4", "request_timeout_ms", "5000"});
    } catch (const std::exception&) { // civetweb's text names itself, not the cause
        throw std::runtime_error("--metrics-port: cannot listen on " + where
                                 + " (in use, or a port below 1024 without the right to it)");
    }
    exposer_->RegisterCollectable(registry_);
    const auto ports = exposer_->GetListeningPorts();
    if (ports.empty())
        throw std::runtime_error("--metrics-port: cannot listen on " + where);
    std::cerr << boost::json::serialize(boost::json::object{
                     {"metrics", "http://" + address + ":" + std::to_string(ports.front()) + "/metrics"}})
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
