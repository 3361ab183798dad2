// SPDX-License-Identifier: BSL-1.0
// Retry-After: any header value parses to a bounded, non-negative delay or to nothing.
#include "retry.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto now = std::chrono::system_clock::from_time_t(1'800'000'000);
    const auto d = wix::inbox::detail::parseRetryAfter(std::string_view(reinterpret_cast<const char*>(data), size), now);
    if (d && (d->count() < 0 || *d > std::chrono::hours(24 * 366 * 300)))
        std::abort();
    return 0;
}
