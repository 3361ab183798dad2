// SPDX-License-Identifier: BSL-1.0
// What a batch may do to its output, decided before anything is opened for writing, under
// the output's lock (cli/job_state.hpp), which the plan holds for the whole run: write it
// anew, continue it (--resume), or replace it once a --retry-failed pass is complete.
#pragma once

#include "batch.hpp"
#include "job_state.hpp"
#include "line_source.hpp"
#include "ndjson.hpp"

#include <memory>
#include <optional>
#include <string>

namespace wix::inbox::cli {

/// What may be done to the output.
struct OutputPlan {
    std::unique_ptr<JobStateFile> state; ///< locked for the whole run; none for standard output or a device
    std::unique_ptr<OutputLock> output;  ///< the output file itself, locked too: it may have other names
    std::optional<JobState> recorded;    ///< what the state file says
    std::optional<ResumePoint> resume;
    bool retry = false;                  ///< --retry-failed of a finished output
    std::optional<InputIdentity> whole;  ///< of the input, checked against the record
};

/// Decides under the output's lock; throws std::runtime_error (JobBusy when another run
/// holds it) for the refusals runBatch() documents, leaving nothing behind.
OutputPlan planOutput(const BatchOptions& options, const LineSource& source);

/// Where a --retry-failed pass writes until it is complete.
std::string retryPath(const std::string& output);

} // namespace wix::inbox::cli
