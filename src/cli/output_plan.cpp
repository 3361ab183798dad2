// SPDX-License-Identifier: BSL-1.0
#include "output_plan.hpp"

#include <sys/stat.h>

#include <stdexcept>
#include <variant>

namespace wix::inbox::cli {

std::string retryPath(const std::string& output)
{
    return output + ".wix-inbox-retry";
}

namespace {

// The whole input must be the one the record describes: checked before anything is sent
// where the input is a regular file (a pipe is checked line by line as it is read).
void checkWholeInput(const OutputPlan& plan, const std::string& output, const char* flag)
{
    if (plan.recorded && plan.recorded->whole && plan.whole && *plan.recorded->whole != *plan.whole)
        throw std::runtime_error("the input is not the one '" + output + "' was made from ('" + plan.recorded->input
                                 + "'): it has other lines or other text; " + flag + " needs that same input, "
                                 "or start again with --overwrite");
}

void planUnderLock(OutputPlan& plan, const BatchOptions& options, bool exists, const struct stat& st)
{
    const std::string& output = options.output;
    auto recorded = plan.state->read();
    if (const auto* problem = std::get_if<std::string>(&recorded))
        throw std::runtime_error(*problem + ": remove it or choose another output");
    if (const auto* state = std::get_if<JobState>(&recorded))
        plan.recorded = *state;
    const auto& state = plan.recorded;
    if (options.retryFailed) {
        if (!exists || !state || !state->finished)
            throw std::runtime_error("'" + output + "' is not the output of a finished batch (" + (!exists ? "it does not exist"
                                     : !state ? "it has no record '" + plan.state->path() + "'" : "it was interrupted: "
                                     "--resume it first") + "): --retry-failed has nothing to retry");
        checkWholeInput(plan, output, "--retry-failed");
        plan.retry = true;
        return;
    }
    if (!options.resume) {
        if (options.overwrite)
            return;
        if (exists && st.st_size > 0)
            throw std::runtime_error("the output '" + output + "' exists and is not empty: use --resume to continue "
                                     "the run that wrote it, or --overwrite to replace it");
        if (state && (state->lines > 0 || !state->journal.empty()))
            throw std::runtime_error("'" + plan.state->path() + "' records a job that wrote to '" + output + "'"
                                     + (state->journal.empty() ? "" : " and sent messages")
                                     + ", but the output is gone or empty: start again with --overwrite");
        return;
    }
    auto point = findResumePoint(output, options.shard.has_value());
    if (const auto* problem = std::get_if<std::string>(&point))
        throw std::runtime_error(*problem);
    plan.resume = std::get<ResumePoint>(point);
    if (plan.resume->lines > 0 && !state)
        throw std::runtime_error("'" + output + "' has no record of the input it was made from ('"
                                 + plan.state->path() + "'): --resume cannot check that it continues the same job; "
                                 "start again with --overwrite");
    if (state && state->lines > plan.resume->lastLine)
        throw std::runtime_error("'" + output + "' ends before the line its record says (" + std::to_string(
                                     plan.resume->lastLine) + " < " + std::to_string(state->lines)
                                 + "): it was changed since; start again with --overwrite");
    if (state && state->shard != shardName(options.shard))
        throw std::runtime_error("'" + output + "' was made " + (state->shard.empty() ? "without --shard" : "with --shard "
                                 + state->shard) + ": resume it the same way, or start again with --overwrite");
    checkWholeInput(plan, output, "--resume");
}

} // namespace

OutputPlan planOutput(const BatchOptions& options, const LineSource& source)
{
    OutputPlan plan;
    plan.whole = source.wholeIdentity();
    const std::string& output = options.output;
    if (output == "-") {
        if (options.resume || options.retryFailed)
            throw std::runtime_error(std::string(options.resume ? "--resume" : "--retry-failed")
                                     + " needs an output file, not standard output");
        return plan;
    }
    struct stat st {};
    const bool exists = ::stat(output.c_str(), &st) == 0;
    if (exists && source.isFile(st))
        throw std::runtime_error("--input and --output are the same file ('" + output
                                 + "'): writing the output would destroy the input");
    if (exists && !S_ISREG(st.st_mode))
        return plan; // a device or a pipe: nothing to truncate, no state to keep
    plan.state = std::make_unique<JobStateFile>(jobStatePath(output));
    try {
        // Under the lock: another run may have written the output since the look above.
        const bool stillExists = ::stat(output.c_str(), &st) == 0;
        plan.output = std::make_unique<OutputLock>(output);
        planUnderLock(plan, options, stillExists, st);
    } catch (...) {
        if (plan.output)
            plan.output->removeIfUnused();
        plan.state->removeIfUnused();
        throw;
    }
    return plan;
}


} // namespace wix::inbox::cli
