// SPDX-License-Identifier: BSL-1.0
// The service's rate limit, per tenant (an app instance, a site, an account): a token bucket
// of `limit` requests refilled over `period`, as "200 requests per minute" reads. Without
// I/O (the clock is a parameter); thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace wix::inbox::emulator {

/// "200/min", "50/s", "1000/h"; "off" is no limit. Nothing if malformed, or below 1 request
/// per period ("0/s", "0.5/s"): the bucket would never hold a whole request, so every
/// request would be refused.
struct Rate {
    double limit = 0; ///< requests per period; 0: none
    std::chrono::milliseconds period{1000};
};
std::optional<Rate> parseRate(std::string_view text);
std::string toString(const Rate& r);

class TenantLimits {
public:
    using Clock = std::chrono::steady_clock;
    /// Tenants remembered at most; more share one bucket (memory stays bounded).
    static constexpr std::size_t maxTenants = 100000;

    /// True if `tenant` may make a request at `now` under `rate` (and it is counted).
    bool admit(const std::string& tenant, const Rate& rate, Clock::time_point now);
    /// Requests refused, by tenant label.
    std::map<std::string, std::uint64_t> throttled() const;
    void reset();

private:
    struct Bucket {
        double tokens;
        Clock::time_point at;
        std::uint64_t throttled = 0;
    };
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Bucket> buckets_;
};

} // namespace wix::inbox::emulator
