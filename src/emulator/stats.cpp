// SPDX-License-Identifier: BSL-1.0
// The emulator's statistics: counted as requests are answered, read by Emulator::stats()
// and written as JSON by GET /_emulator/stats.
#include "emulator/server.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace wix::inbox::emulator {
namespace json = boost::json;

std::string toJson(const Stats& s)
{
    json::object byRoute, byStatus, faults, throttled;
    for (const auto& [k, v] : s.throttledByTenant)
        throttled[k] = v;
    for (const auto& [k, v] : s.byRoute)
        byRoute[k] = v;
    for (const auto& [k, v] : s.byStatus)
        byStatus[std::to_string(k)] = v;
    for (const auto& [k, v] : s.faults)
        faults[k] = v;
    return json::serialize(json::object{{"requests", s.requests},
                                        {"connectionsAccepted", s.connectionsAccepted},
                                        {"connectionsOpen", s.connectionsOpen},
                                        {"connectionsRefused", s.connectionsRefused},
                                        {"acceptFailures", s.acceptFailures},
                                        {"internalErrors", s.internalErrors},
                                        {"tlsHandshakes", s.tlsHandshakes},
                                        {"tlsResumed", s.tlsResumed},
                                        {"byRoute", std::move(byRoute)},
                                        {"byStatus", std::move(byStatus)},
                                        {"faults", std::move(faults)},
                                        {"conversations", s.conversations},
                                        {"messages", s.messages},
                                        {"tokensIssued", s.tokensIssued},
                                        {"authRejected", s.authRejected},
                                        {"throttledByTenant", std::move(throttled)},
                                        {"webhooks", json::object{{"delivered", s.webhooksDelivered},
                                                                  {"failedAttempts", s.webhookFailedAttempts},
                                                                  {"abandoned", s.webhooksAbandoned},
                                                                  {"pending", s.webhooksPending}}}});
}

std::string_view Emulator::Impl::routeName(std::size_t route)
{
    return route < Service::routes.size() ? Service::routes[route].name : route == adminRoute ? "admin" : "unknown";
}

void Emulator::Impl::count(std::size_t route, int status)
{
    ++requests_;
    ++byRoute_[route];
    if (status >= 0 && status < static_cast<int>(byStatus_.size()))
        ++byStatus_[static_cast<std::size_t>(status)];
    watch_.changed(); // the faults, messages, tokens and throttles of this answer are counted by now
}

std::optional<Stats> Emulator::Impl::waitFor(const std::function<bool(const Stats&)>& reached,
                                             std::chrono::milliseconds timeout) const
{
    Stats s;
    // A year stands for "no timeout": a longer one would overflow the clock's time point.
    const auto bounded = std::clamp(timeout, std::chrono::milliseconds(0), std::chrono::milliseconds(std::chrono::days(365)));
    if (!watch_.waitFor([&] { return reached(s = stats()); }, std::chrono::steady_clock::now() + bounded))
        return std::nullopt;
    return s;
}

Stats Emulator::Impl::stats() const
{
    Stats s;
    s.requests = requests_.load();
    s.connectionsAccepted = accepted_.load();
    s.connectionsOpen = open_.load();
    s.connectionsRefused = connectionsRefused_.load();
    s.acceptFailures = acceptFailures_.load();
    s.internalErrors = internalErrors_.load();
    s.tlsHandshakes = handshakes_.load();
    s.tlsResumed = resumed_.load();
    for (std::size_t i = 0; i < byRoute_.size(); ++i)
        if (const auto n = byRoute_[i].load())
            s.byRoute[std::string(routeName(i))] = n;
    for (std::size_t i = 0; i < byStatus_.size(); ++i)
        if (const auto n = byStatus_[i].load())
            s.byStatus[static_cast<int>(i)] = n;
    for (std::size_t i = 0; i < faultCounts_.size(); ++i)
        if (const auto n = faultCounts_[i].load())
            s.faults[std::string(faultSettings()[i].name)] = n;
    s.conversations = service_.conversationCount();
    s.messages = service_.messageCount();
    s.tokensIssued = credentials_.tokensIssued();
    s.authRejected = credentials_.rejected();
    s.throttledByTenant = limits_.throttled();
    if (webhooks_) {
        const auto w = webhooks_->counts();
        s.webhooksDelivered = w.delivered;
        s.webhookFailedAttempts = w.failedAttempts;
        s.webhooksAbandoned = w.abandoned;
        s.webhooksPending = w.pending;
    }
    return s;
}

} // namespace wix::inbox::emulator
