// SPDX-License-Identifier: BSL-1.0
#include "emulator/fault_settings.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <type_traits>
#include <vector>

namespace wix::inbox::emulator {
namespace json = boost::json;

namespace {

using Type = FaultSetting::Type;

template <auto member>
SettingValue getNumber(const Faults& f)
{
    const auto& v = f.*member;
    if constexpr (requires { v.count(); })
        return static_cast<double>(v.count());
    else
        return static_cast<double>(v);
}

template <auto member>
void setNumber(Faults& f, const SettingValue& value)
{
    auto& v = f.*member;
    using T = std::remove_cvref_t<decltype(v)>;
    const double d = std::get<double>(value);
    if constexpr (requires { v.count(); })
        v = T(static_cast<typename T::rep>(d));
    else
        v = static_cast<T>(d);
}

template <auto member>
SettingValue getFlag(const Faults& f)
{
    return f.*member;
}

template <auto member>
void setFlag(Faults& f, const SettingValue& value)
{
    f.*member = std::get<bool>(value);
}

SettingValue getRate(const Faults& f)
{
    return Rate{f.rateLimit, f.rateLimitPeriod};
}

void setRate(Faults& f, const SettingValue& value)
{
    const auto& rate = std::get<Rate>(value);
    f.rateLimit = rate.limit;
    f.rateLimitPeriod = rate.period;
}

std::string httpDate(std::chrono::system_clock::time_point t)
{
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char out[64];
    std::strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return out;
}

std::string retryAfter(const Faults& f)
{
    return f.retryAfterAsDate ? httpDate(std::chrono::system_clock::now() + std::chrono::seconds(f.retryAfterSeconds))
                              : std::to_string(f.retryAfterSeconds);
}

constexpr double probability = 1;
constexpr double maxMs = 3'600'000;

const FaultSetting settings[] = {
    {.name = "fault-429", .type = Type::probability, .hi = probability,
     .help = "429 with Retry-After and the error envelope", .get = getNumber<&Faults::status429>,
     .set = setNumber<&Faults::status429>, .respond = [](const Faults& f) {
         return ServiceResponse{429, applicationErrorBody("Too many requests", "TOO_MANY_REQUESTS"),
                                {{"Retry-After", retryAfter(f)}}};
     }},
    {.name = "fault-500", .type = Type::probability, .hi = probability, .help = "500 with an empty body",
     .get = getNumber<&Faults::status500>, .set = setNumber<&Faults::status500>,
     .respond = [](const Faults&) { return ServiceResponse{500, "", {}}; }},
    {.name = "fault-502", .type = Type::probability, .hi = probability, .help = "502 with an HTML body",
     .get = getNumber<&Faults::status502>, .set = setNumber<&Faults::status502>,
     .respond = [](const Faults&) { return ServiceResponse{502, "<html><body>502 Bad Gateway</body></html>", {}}; }},
    {.name = "fault-503", .type = Type::probability, .hi = probability,
     .help = "503 with Retry-After and the error envelope", .get = getNumber<&Faults::status503>,
     .set = setNumber<&Faults::status503>, .respond = [](const Faults& f) {
         return ServiceResponse{503, applicationErrorBody("Service unavailable", "UNAVAILABLE"),
                                {{"Retry-After", retryAfter(f)}}};
     }},
    {.name = "fault-504", .type = Type::probability, .hi = probability, .help = "504 with an empty body",
     .get = getNumber<&Faults::status504>, .set = setNumber<&Faults::status504>,
     .respond = [](const Faults&) { return ServiceResponse{504, "", {}}; }},
    {.name = "fault-stall", .type = Type::probability, .hi = probability, .help = "read the request, never answer",
     .get = getNumber<&Faults::stall>, .set = setNumber<&Faults::stall>, .delivery = Delivery::stall},
    {.name = "fault-close", .type = Type::probability, .hi = probability,
     .help = "read the request, close the connection", .get = getNumber<&Faults::closeBeforeResponse>,
     .set = setNumber<&Faults::closeBeforeResponse>, .delivery = Delivery::close},
    {.name = "fault-reset", .type = Type::probability, .hi = probability,
     .help = "send half the body, then reset the connection", .get = getNumber<&Faults::resetMidBody>,
     .set = setNumber<&Faults::resetMidBody>, .delivery = Delivery::resetMidBody},
    {.name = "fault-truncate", .type = Type::probability, .hi = probability,
     .help = "send half the body, then close cleanly", .get = getNumber<&Faults::truncatedBody>,
     .set = setNumber<&Faults::truncatedBody>, .delivery = Delivery::truncate},
    {.name = "fault-malformed", .type = Type::probability, .hi = probability, .help = "200 with a body that is not JSON",
     .get = getNumber<&Faults::malformedJson>, .set = setNumber<&Faults::malformedJson>,
     .respond = [](const Faults&) { return ServiceResponse{200, R"({"conversation": {"id": "6202c3bb-)", {}}; }},
    {.name = "fault-lost-response", .type = Type::probability, .hi = probability,
     .help = "serve the request, then reset the connection before answering", .get = getNumber<&Faults::lostResponse>,
     .set = setNumber<&Faults::lostResponse>, .delivery = Delivery::lost},
    // One day at most: a client told to wait longer would be better told to give up.
    {.name = "retry-after", .type = Type::whole, .hi = 86'400, .help = "Retry-After seconds on 429/503",
     .get = getNumber<&Faults::retryAfterSeconds>, .set = setNumber<&Faults::retryAfterSeconds>},
    {.name = "retry-after-date", .type = Type::flag, .help = "send Retry-After as an HTTP-date",
     .get = getFlag<&Faults::retryAfterAsDate>, .set = setFlag<&Faults::retryAfterAsDate>},
    {.name = "latency-min-ms", .type = Type::whole, .hi = maxMs, .help = "added latency, lower bound",
     .get = getNumber<&Faults::latencyMin>, .set = setNumber<&Faults::latencyMin>},
    {.name = "latency-max-ms", .type = Type::whole, .hi = maxMs,
     .help = "added latency, upper bound (0, or at least the lower bound)", .get = getNumber<&Faults::latencyMax>,
     .set = setNumber<&Faults::latencyMax>},
    {.name = "idle-timeout-ms", .type = Type::whole, .hi = maxMs, .help = "close connections idle this long (0: 5 min)",
     .get = getNumber<&Faults::idleTimeout>, .set = setNumber<&Faults::idleTimeout>},
    {.name = "idle-timeout-hint", .type = Type::flag, .help = "announce the idle timeout in Keep-Alive",
     .get = getFlag<&Faults::idleTimeoutHint>, .set = setFlag<&Faults::idleTimeoutHint>},
    {.name = "close-after-requests", .type = Type::whole, .hi = 1e9,
     .help = "answer the N-th request of a connection with Connection: close (0: never)",
     .get = getNumber<&Faults::closeAfterRequests>, .set = setNumber<&Faults::closeAfterRequests>},
    // Below 2^53: every whole number in range is exact as a JSON number.
    {.name = "seed", .type = Type::whole, .hi = 9e15, .help = "seed of the fault sequence",
     .get = getNumber<&Faults::seed>, .set = setNumber<&Faults::seed>},
    {.name = "rate-limit", .type = Type::rate,
     .help = "API requests each tenant may make, as the service limits them: 200/min, 50/s (at least 1 per "
             "period) or off; over it, 429",
     .get = getRate, .set = setRate},
    {.name = "rate-limit-retry-after", .type = Type::flag,
     .help = "send Retry-After with the rate limit's 429s (the service does not document one)",
     .get = getFlag<&Faults::rateLimitRetryAfter>, .set = setFlag<&Faults::rateLimitRetryAfter>},
};

// A number as people write it ("0.5", not "5E-1"; "9000000000000000", not "9e+15").
std::string number(double v)
{
    char out[32];
    const bool whole = v == std::floor(v) && std::abs(v) < 1e17;
    const auto [end, ec] = whole ? std::to_chars(out, out + sizeof out, v, std::chars_format::fixed, 0)
                                 : std::to_chars(out, out + sizeof out, v);
    return ec == std::errc() ? std::string(out, end) : std::string("0");
}

bool fits(const FaultSetting& s, const SettingValue& value)
{
    switch (s.type) {
    case Type::probability:
    case Type::whole: {
        const auto* d = std::get_if<double>(&value);
        return d && *d >= s.lo && *d <= s.hi && (s.type == Type::probability || *d == std::floor(*d));
    }
    case Type::flag: return std::holds_alternative<bool>(value);
    case Type::rate: return std::holds_alternative<Rate>(value);
    }
    return false;
}

std::optional<std::string> apply(const FaultSetting& s, const std::optional<SettingValue>& value, Faults& faults,
                                 std::string_view prefix)
{
    if (!value || !fits(s, *value))
        return std::string(prefix).append(s.name).append(" must be ").append(s.range());
    s.set(faults, *value);
    return std::nullopt;
}

std::optional<SettingValue> fromText(const FaultSetting& s, std::string_view text)
{
    switch (s.type) {
    case Type::flag:
        return text == "true" ? SettingValue(true) : text == "false" ? SettingValue(false) : std::optional<SettingValue>();
    case Type::rate:
        if (const auto rate = parseRate(text))
            return *rate;
        return std::nullopt;
    default: {
        double d = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
        if (ec != std::errc() || end != text.data() + text.size())
            return std::nullopt;
        return d;
    }
    }
}

std::optional<SettingValue> fromJson(const FaultSetting& s, const json::value& v)
{
    if (v.is_number())
        return v.to_number<double>();
    if (v.is_bool())
        return v.get_bool();
    if (v.is_string() && s.type == Type::rate)
        return fromText(s, v.get_string());
    return std::nullopt;
}

// The keys of a JSON object's top level, duplicates included: boost::json::parse keeps only
// the last of a key given twice, and a setting given twice is a mistake to name, not guess.
class TopLevelKeys {
public:
    std::vector<std::string> keys;

    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    bool on_document_begin(boost::system::error_code&) { return true; }
    bool on_document_end(boost::system::error_code&) { return true; }
    bool on_object_begin(boost::system::error_code&) { return ++depth_, true; }
    bool on_object_end(std::size_t, boost::system::error_code&) { return --depth_, true; }
    bool on_array_begin(boost::system::error_code&) { return ++depth_, true; }
    bool on_array_end(std::size_t, boost::system::error_code&) { return --depth_, true; }
    bool on_key_part(json::string_view part, std::size_t, boost::system::error_code&)
    {
        if (depth_ == 1)
            key_.append(part);
        return true;
    }
    bool on_key(json::string_view part, std::size_t, boost::system::error_code&)
    {
        if (depth_ == 1)
            keys.push_back(std::move(key_.append(part)));
        key_.clear();
        return true;
    }
    bool on_string_part(json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_string(json::string_view, std::size_t, boost::system::error_code&) { return true; }
    bool on_number_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_int64(std::int64_t, json::string_view, boost::system::error_code&) { return true; }
    bool on_uint64(std::uint64_t, json::string_view, boost::system::error_code&) { return true; }
    bool on_double(double, json::string_view, boost::system::error_code&) { return true; }
    bool on_bool(bool, boost::system::error_code&) { return true; }
    bool on_null(boost::system::error_code&) { return true; }
    bool on_comment_part(json::string_view, boost::system::error_code&) { return true; }
    bool on_comment(json::string_view, boost::system::error_code&) { return true; }

private:
    int depth_ = 0;
    std::string key_;
};

std::vector<std::string> topLevelKeys(std::string_view text)
{
    json::basic_parser<TopLevelKeys> parser(json::parse_options{});
    boost::system::error_code ec;
    parser.write_some(false, text.data(), text.size(), ec);
    return ec ? std::vector<std::string>() : std::move(parser.handler().keys);
}

// A key the client sent, for an error: quoted, its first 64 bytes, anything but printable
// ASCII as \xNN, so that it neither floods nor drives the terminal that shows it.
std::string shown(std::string_view key)
{
    constexpr std::size_t max = 64;
    std::string out = "'";
    for (const unsigned char c : key.substr(0, max)) {
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
            out += static_cast<char>(c);
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    out += "'";
    if (key.size() > max)
        out += " (its first " + std::to_string(max) + " of " + std::to_string(key.size()) + " bytes)";
    return out;
}

const FaultSetting* find(std::string_view name)
{
    for (const auto& s : settings)
        if (s.name == name)
            return &s;
    return nullptr;
}

} // namespace

std::string FaultSetting::range() const
{
    switch (type) {
    case Type::probability: return "a number from " + number(lo) + " to " + number(hi);
    case Type::whole: return "a whole number from " + number(lo) + " to " + number(hi);
    case Type::flag: return "true or false";
    case Type::rate: return "a rate of at least 1 request per period, in whole requests, such as 200/min or 50/s, or off";
    }
    return {};
}

std::string FaultSetting::text(const Faults& faults) const
{
    const SettingValue v = get(faults);
    if (const auto* d = std::get_if<double>(&v))
        return number(*d);
    if (const auto* b = std::get_if<bool>(&v))
        return *b ? "true" : "false";
    return toString(std::get<Rate>(v));
}

std::span<const FaultSetting> faultSettings()
{
    return settings;
}

std::optional<std::string> applyFlag(const FaultSetting& setting, std::string_view text, Faults& faults)
{
    return apply(setting, fromText(setting, text), faults, "--");
}

std::optional<FaultsProblem> checkFaults(Faults& faults, std::string_view prefix)
{
    double total = 0;
    for (const auto& s : settings)
        if (s.isFault())
            total += std::get<double>(s.get(faults));
    if (total > 1.0 + 1e-9)
        return FaultsProblem{"faults", "the fault probabilities add up to more than 1"};
    if (faults.latencyMax.count() != 0 && faults.latencyMax < faults.latencyMin)
        return FaultsProblem{"latency-max-ms", std::string(prefix) + "latency-max-ms must be >= " + std::string(prefix)
                                                   + "latency-min-ms"};
    faults.latencyMax = std::max(faults.latencyMax, faults.latencyMin);
    return std::nullopt;
}

std::string toJson(const Faults& f)
{
    std::string out = "{";
    for (const auto& s : settings) {
        const bool quoted = s.type == Type::rate;
        out.append(out.size() > 1 ? ",\"" : "\"").append(s.name).append("\":");
        out.append(quoted ? "\"" : "").append(s.text(f)).append(quoted ? "\"" : "");
    }
    return out.append("}");
}

std::optional<FaultsProblem> applyFaultsJson(std::string_view text, Faults& faults)
{
    boost::system::error_code ec;
    const json::value root = json::parse(text, ec);
    if (ec || !root.is_object())
        return FaultsProblem{"faults", "the body must be a JSON object of settings, e.g. {\"fault-503\": 0.3}"};
    const auto keys = topLevelKeys(text);
    Faults next = faults;
    for (const auto& field : root.get_object()) {
        const std::string key(field.key());
        const auto* setting = find(key);
        if (!setting) // the body names it; the key may be long and anything
            return FaultsProblem{"faults", "unknown setting " + shown(key) + " (GET /_emulator/faults lists them)"};
        if (std::count(keys.begin(), keys.end(), key) > 1)
            return FaultsProblem{key, key + std::string(givenMoreThanOnce)};
        if (auto problem = apply(*setting, fromJson(*setting, field.value()), next, ""))
            return FaultsProblem{key, std::move(*problem)};
    }
    if (auto problem = checkFaults(next, ""))
        return problem;
    faults = next;
    return std::nullopt;
}

} // namespace wix::inbox::emulator
