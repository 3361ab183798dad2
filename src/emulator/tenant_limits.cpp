// SPDX-License-Identifier: BSL-1.0
#include "emulator/tenant_limits.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace wix::inbox::emulator {

std::optional<Rate> parseRate(std::string_view text)
{
    if (text == "off")
        return Rate{};
    const auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    double limit = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + slash, limit);
    // Requests are counted whole: "1.5/min" is a slip to refuse, not a rate to round.
    if (ec != std::errc() || end != text.data() + slash || !(limit >= 1) || limit > 1e9 || limit != std::floor(limit))
        return std::nullopt;
    const auto unit = text.substr(slash + 1);
    const auto period = unit == "s" ? std::chrono::milliseconds(1000)
                      : unit == "min" ? std::chrono::milliseconds(60'000)
                      : unit == "h" ? std::chrono::milliseconds(3'600'000)
                                    : std::chrono::milliseconds(0);
    if (period.count() == 0)
        return std::nullopt;
    return Rate{limit, period};
}

std::string toString(const Rate& r)
{
    if (r.limit <= 0)
        return "off";
    char number[32];
    const auto [end, ec] = std::to_chars(number, number + sizeof number, r.limit);
    const char* unit = r.period.count() == 60'000 ? "/min" : r.period.count() == 3'600'000 ? "/h" : "/s";
    return std::string(number, end) + unit;
}

bool TenantLimits::admit(const std::string& tenant, const Rate& rate, Clock::time_point now)
{
    if (rate.limit <= 0)
        return true;
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(tenant);
    if (it == buckets_.end()) {
        const std::string key = buckets_.size() < maxTenants ? tenant : std::string("(others)");
        it = buckets_.try_emplace(key, Bucket{rate.limit, now}).first;
    }
    Bucket& b = it->second;
    const double refill = rate.limit * std::chrono::duration<double>(now - b.at) / rate.period;
    b.tokens = std::min(rate.limit, b.tokens + std::max(0.0, refill));
    b.at = std::max(b.at, now);
    if (b.tokens >= 1) {
        b.tokens -= 1;
        return true;
    }
    ++b.throttled;
    return false;
}

std::map<std::string, std::uint64_t> TenantLimits::throttled() const
{
    std::lock_guard lock(mutex_);
    std::map<std::string, std::uint64_t> out;
    for (const auto& [tenant, b] : buckets_)
        if (b.throttled > 0)
            out[tenant] = b.throttled;
    return out;
}

void TenantLimits::reset()
{
    std::lock_guard lock(mutex_);
    buckets_.clear();
}

} // namespace wix::inbox::emulator
