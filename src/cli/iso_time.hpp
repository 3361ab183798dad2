// SPDX-License-Identifier: BSL-1.0
// ISO-8601 UTC times as the send journal writes them and the service stores them.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

namespace wix::inbox::cli {

/// "YYYY-MM-DDTHH:MM:SSZ".
inline std::string isoUtc(std::chrono::system_clock::time_point t)
{
    const auto seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char out[80];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02dZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                  utc.tm_hour, utc.tm_min, utc.tm_sec);
    return out;
}

/// The time of an ISO-8601 UTC text, to the second; nothing if malformed.
inline std::optional<std::chrono::system_clock::time_point> parseIso(const std::string& text)
{
    std::tm utc{};
    if (text.size() < 19 || std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &utc.tm_year, &utc.tm_mon, &utc.tm_mday,
                                        &utc.tm_hour, &utc.tm_min, &utc.tm_sec) != 6)
        return std::nullopt;
    utc.tm_year -= 1900;
    utc.tm_mon -= 1;
    return std::chrono::system_clock::from_time_t(timegm(&utc));
}

} // namespace wix::inbox::cli
