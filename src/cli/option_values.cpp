// SPDX-License-Identifier: BSL-1.0
#include "option_values.hpp"

#include <charconv>

namespace wix::inbox::cli {

std::optional<long long> wholeNumber(const std::string& flag, const std::string& text, long long lo, long long hi,
                                     std::string& problem)
{
    long long v = 0;
    // Digits alone: from_chars takes a '-' ("-0" would pass as 0), and a sign is no part of a count.
    const bool digits = !text.empty() && text.front() >= '0' && text.front() <= '9';
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (!digits || ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
        if (problem.empty())
            problem = "--" + flag + " takes a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
        return std::nullopt;
    }
    return v;
}

std::optional<std::chrono::milliseconds> parseDuration(const std::string& text)
{
    long long count = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    const std::string unit(end, text.data() + text.size());
    const long long ms = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000 : 0;
    if (ec != std::errc() || ms == 0 || count < 1 || count > 30LL * 24 * 3'600'000 / ms)
        return std::nullopt;
    return std::chrono::milliseconds(count * ms);
}

} // namespace wix::inbox::cli
