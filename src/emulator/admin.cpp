// JSON of the emulator's admin endpoints: statistics and fault settings.
#include "emulator/fault_names.hpp"
#include "emulator/tenant_limits.hpp"

#include <wix/inbox/emulator.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <optional>

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

namespace {

// A number as people write it ("0.5", not Boost.JSON's "5E-1").
std::string number(double v)
{
    char out[32];
    const auto [end, ec] = std::to_chars(out, out + sizeof out, v);
    return ec == std::errc() ? std::string(out, end) : std::string("0");
}

} // namespace

std::string toJson(const Faults& f)
{
    std::string out = "{";
    auto field = [&out](std::string_view name, std::string_view value) {
        out.append(out.size() > 1 ? ",\"" : "\"").append(name).append("\":").append(value);
    };
    for (const auto& kind : faultKinds)
        field(kind.name, number(f.*kind.probability));
    field("retry-after", std::to_string(f.retryAfterSeconds));
    field("retry-after-date", f.retryAfterAsDate ? "true" : "false");
    field("latency-min-ms", std::to_string(f.latencyMin.count()));
    field("latency-max-ms", std::to_string(f.latencyMax.count()));
    field("idle-timeout-ms", std::to_string(f.idleTimeout.count()));
    field("idle-timeout-hint", f.idleTimeoutHint ? "true" : "false");
    field("close-after-requests", std::to_string(f.closeAfterRequests));
    field("seed", std::to_string(f.seed));
    field("rate-limit", "\"" + toString(Rate{f.rateLimit, f.rateLimitPeriod}) + "\"");
    field("rate-limit-retry-after", f.rateLimitRetryAfter ? "true" : "false");
    return out.append("}");
}

std::optional<FaultsProblem> applyFaultsJson(std::string_view text, Faults& faults)
{
    boost::system::error_code ec;
    const json::value root = json::parse(text, ec);
    if (ec || !root.is_object())
        return FaultsProblem{"faults", "the body must be a JSON object of settings, e.g. {\"fault-503\": 0.3}"};
    Faults next = faults;
    for (const auto& field : root.get_object()) {
        const std::string key(field.key());
        const json::value& value = field.value();
        // A whole number (or, for probabilities, any number) in [lo, hi].
        auto number = [&](double lo, double hi, bool whole) -> std::optional<double> {
            if (!value.is_number())
                return std::nullopt;
            const double d = value.to_number<double>();
            if (d < lo || d > hi || (whole && d != static_cast<double>(static_cast<long long>(d))))
                return std::nullopt;
            return d;
        };
        auto outOfRange = [&](std::string_view range) {
            return FaultsProblem{key, std::string(key).append(" must be ").append(range)};
        };
        const auto kind = std::find_if(std::begin(faultKinds), std::end(faultKinds),
                                       [&](const FaultKind& k) { return k.name == key; });
        if (kind != std::end(faultKinds)) {
            const auto v = number(0, 1, false);
            if (!v)
                return outOfRange("a probability from 0 to 1");
            next.*kind->probability = *v;
        } else if (key == "retry-after" || key == "latency-min-ms" || key == "latency-max-ms"
                   || key == "idle-timeout-ms") {
            const auto v = number(0, 3'600'000, true);
            if (!v)
                return outOfRange("a whole number from 0 to 3600000");
            const auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(*v));
            if (key == "retry-after")
                next.retryAfterSeconds = static_cast<int>(*v);
            else if (key == "latency-min-ms")
                next.latencyMin = ms;
            else if (key == "latency-max-ms")
                next.latencyMax = ms;
            else
                next.idleTimeout = ms;
        } else if (key == "retry-after-date" || key == "idle-timeout-hint" || key == "rate-limit-retry-after") {
            if (!value.is_bool())
                return outOfRange("true or false");
            (key == "retry-after-date" ? next.retryAfterAsDate
             : key == "idle-timeout-hint" ? next.idleTimeoutHint
                                          : next.rateLimitRetryAfter) = value.get_bool();
        } else if (key == "rate-limit") {
            const auto rate = value.is_string() ? parseRate(value.get_string()) : std::nullopt;
            if (!rate)
                return outOfRange("a rate of at least 1 request per period, such as \"200/min\" or \"50/s\", or \"off\"");
            next.rateLimit = rate->limit;
            next.rateLimitPeriod = rate->period;
        } else if (key == "close-after-requests") {
            const auto v = number(0, 1e9, true);
            if (!v)
                return outOfRange("a whole number from 0 to 1000000000");
            next.closeAfterRequests = static_cast<unsigned>(*v);
        } else if (key == "seed") {
            const auto v = number(0, 9.0e15, true);
            if (!v)
                return outOfRange("a whole number from 0 to 9000000000000000");
            next.seed = static_cast<std::uint64_t>(*v);
        } else {
            return FaultsProblem{key, "unknown setting '" + key + "' (GET /_emulator/faults lists them)"};
        }
    }
    double total = 0;
    for (const auto& kind : faultKinds)
        total += next.*kind.probability;
    if (total > 1.0 + 1e-9)
        return FaultsProblem{"faults", "the fault probabilities add up to more than 1"};
    if (next.latencyMax.count() != 0 && next.latencyMax < next.latencyMin)
        return FaultsProblem{"latency-max-ms", "latency-max-ms must be >= latency-min-ms"};
    next.latencyMax = std::max(next.latencyMax, next.latencyMin);
    faults = next;
    return std::nullopt;
}

} // namespace wix::inbox::emulator
