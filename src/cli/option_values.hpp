// SPDX-License-Identifier: BSL-1.0
// The values of the command line's options that program_options cannot check: numbers in a
// range (it would wrap "-5" into an unsigned value) and durations with their unit.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace wix::inbox::cli {

/// A whole number from `text` (decimal digits, no sign) in [lo, hi]; otherwise nothing, and
/// `problem` (if still empty) names the flag and the range, never the value (it may be a
/// secret typed after a typo).
std::optional<long long> wholeNumber(const std::string& flag, const std::string& text, long long lo, long long hi,
                                     std::string& problem);

/// A duration with its unit: 500ms, 30s, 10m, 2h; in [1 ms, 30 days].
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text);

} // namespace wix::inbox::cli
