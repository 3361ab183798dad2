// SPDX-License-Identifier: BSL-1.0
// The batch's summary as one JSON object, for the machine that runs the job
// (--summary-file): the same facts as the summary line on standard error.
#pragma once

#include "batch.hpp"

#include <wix/inbox/client.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace wix::inbox::cli {

/// {"lines":{"ok","failed","skipped"},"retries","lineRetries","throttled","tokenRequests",
///  "reconciliation":{"requests","reconciled"},"durationSeconds","callsPerSecond","tenants",
///  "interrupted","signal":"SIGINT"|...|null}
std::string summaryJson(const BatchSummary& summary, const ClientStats& stats, double seconds, std::size_t tenants);

/// Why `path` cannot take the summary of `batch`: it names the batch's input, its output or
/// a file kept beside the output (through any name or link); nothing if it can.
std::optional<std::string> summaryFileClash(const std::string& path, const BatchOptions& batch);

/// Writes `text` (and a newline) to `path` whole or not at all: a temporary file beside it,
/// renamed over it. A symlink at `path` is refused, never written through. Throws
/// std::runtime_error naming the file.
void writeSummaryFile(const std::string& path, const std::string& text);

} // namespace wix::inbox::cli
