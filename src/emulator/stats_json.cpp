// The statistics as GET /_emulator/stats writes them.
#include <wix/inbox/emulator.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

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

} // namespace wix::inbox::emulator
