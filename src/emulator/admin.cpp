// JSON of the emulator's admin endpoints: statistics and fault settings.
#include "emulator/emulator.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <optional>

namespace wix::inbox::emulator {
namespace json = boost::json;

std::string toJson(const Stats& s)
{
    json::object byRoute, byStatus, faults;
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
                                        {"tokensIssued", s.tokensIssued},
                                        {"authRejected", s.authRejected}});
}

std::string toJson(const Faults& f)
{
    return json::serialize(json::object{{"status429", f.status429},
                                        {"status500", f.status500},
                                        {"status502", f.status502},
                                        {"status503", f.status503},
                                        {"status504", f.status504},
                                        {"stall", f.stall},
                                        {"closeBeforeResponse", f.closeBeforeResponse},
                                        {"resetMidBody", f.resetMidBody},
                                        {"truncatedBody", f.truncatedBody},
                                        {"malformedJson", f.malformedJson},
                                        {"retryAfterSeconds", f.retryAfterSeconds},
                                        {"retryAfterAsDate", f.retryAfterAsDate},
                                        {"latencyMinMs", f.latencyMin.count()},
                                        {"latencyMaxMs", f.latencyMax.count()},
                                        {"idleTimeoutMs", f.idleTimeout.count()},
                                        {"idleTimeoutHint", f.idleTimeoutHint},
                                        {"closeAfterRequests", f.closeAfterRequests},
                                        {"seed", f.seed}});
}

bool applyFaultsJson(std::string_view text, Faults& faults)
{
    boost::system::error_code ec;
    const json::value root = json::parse(text, ec);
    if (ec || !root.is_object())
        return false;
    Faults next = faults;
    for (const auto& field : root.get_object()) {
        const std::string_view key = field.key();
        const json::value& value = field.value();
        auto number = [&](double lo, double hi) -> std::optional<double> {
            if (!value.is_number())
                return std::nullopt;
            const double d = value.to_number<double>();
            return (d >= lo && d <= hi) ? std::optional(d) : std::nullopt;
        };
        struct Probability {
            std::string_view name;
            double Faults::*field;
        };
        static constexpr Probability probabilities[] = {
            {"status429", &Faults::status429}, {"status500", &Faults::status500},
            {"status502", &Faults::status502}, {"status503", &Faults::status503},
            {"status504", &Faults::status504}, {"stall", &Faults::stall},
            {"closeBeforeResponse", &Faults::closeBeforeResponse}, {"resetMidBody", &Faults::resetMidBody},
            {"truncatedBody", &Faults::truncatedBody}, {"malformedJson", &Faults::malformedJson}};
        bool known = false;
        for (const auto& p : probabilities) {
            if (key != p.name)
                continue;
            const auto v = number(0, 1);
            if (!v)
                return false;
            next.*p.field = *v;
            known = true;
        }
        if (known)
            continue;
        if (key == "retryAfterSeconds" || key == "latencyMinMs" || key == "latencyMaxMs" || key == "idleTimeoutMs") {
            const auto v = number(0, 3'600'000);
            if (!v)
                return false;
            const auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(*v));
            if (key == "retryAfterSeconds")
                next.retryAfterSeconds = static_cast<int>(*v);
            else if (key == "latencyMinMs")
                next.latencyMin = ms;
            else if (key == "latencyMaxMs")
                next.latencyMax = ms;
            else
                next.idleTimeout = ms;
        } else if (key == "retryAfterAsDate" || key == "idleTimeoutHint") {
            if (!value.is_bool())
                return false;
            (key == "retryAfterAsDate" ? next.retryAfterAsDate : next.idleTimeoutHint) = value.get_bool();
        } else if (key == "closeAfterRequests") {
            const auto v = number(0, 1e9);
            if (!v)
                return false;
            next.closeAfterRequests = static_cast<unsigned>(*v);
        } else if (key == "seed") {
            const auto v = number(0, 9.0e15);
            if (!v)
                return false;
            next.seed = static_cast<std::uint64_t>(*v);
        } else {
            return false; // a typo must not silently disable a fault
        }
    }
    const double total = next.status429 + next.status500 + next.status502 + next.status503 + next.status504 + next.stall
          + next.closeBeforeResponse + next.resetMidBody + next.truncatedBody + next.malformedJson;
    if (total > 1.0 + 1e-9)
        return false;
    next.latencyMax = std::max(next.latencyMax, next.latencyMin);
    faults = next;
    return true;
}

} // namespace wix::inbox::emulator
