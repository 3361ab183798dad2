// SPDX-License-Identifier: BSL-1.0
// The time as the service writes it in JSON: ISO-8601 UTC with milliseconds.
#pragma once

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace wix::inbox::emulator {

inline std::string isoNow()
{
    const auto now = std::chrono::system_clock::now();
    const auto seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char out[64]; // room for any int the compiler imagines
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    return out;
}

} // namespace wix::inbox::emulator
