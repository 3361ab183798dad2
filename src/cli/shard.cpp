// SPDX-License-Identifier: BSL-1.0
#include "shard.hpp"

#include <charconv>
#include <cstdlib>
#include <limits>
#include <vector>

namespace wix::inbox::cli {
namespace {

// A job runner that starts N copies of one command and tells each its place.
struct Runner {
    const char* name;
    const char* index; ///< this worker's index
    const char* count; ///< the number of workers; nullptr: the runner does not say (--shard-count)
    const char* first; ///< the first index, where it need not be 0; nullptr: 0
    const char* step;  ///< the step between indexes, where it need not be 1; nullptr: 1
};

constexpr Runner runners[] = {
    {"a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", nullptr, nullptr, nullptr},
    {"a Slurm job array", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
     "SLURM_ARRAY_TASK_STEP"},
    {"an AWS Batch array job", "AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ARRAY_SIZE", nullptr, nullptr},
    {"a Cloud Run job", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_COUNT", nullptr, nullptr},
};

constexpr const char* kNotFound =
    "--shard auto found no job runner's index: it looks for JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, "
    "with --shard-count), SLURM_ARRAY_TASK_ID (a Slurm job array), AWS_BATCH_JOB_ARRAY_INDEX (an AWS Batch array "
    "job) and CLOUD_RUN_TASK_INDEX (a Cloud Run job); elsewhere give --shard K/N";

// Decimal digits alone (no sign, no spaces), at most `max`.
std::optional<std::uint64_t> wholeNumber(const std::string& text, std::uint64_t max)
{
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max)
        return std::nullopt;
    return v;
}

std::variant<Shard, std::string> fromRunner(const Runner& runner, const std::optional<std::uint64_t>& countFlag,
                                            const Environment& environment)
{
    constexpr auto any = std::numeric_limits<std::uint64_t>::max();
    // A runner's variable as a whole number in [lo, hi]; or why not.
    const auto variable = [&](const char* name, std::uint64_t lo,
                              std::uint64_t hi) -> std::variant<std::uint64_t, std::string> {
        const auto text = environment(name);
        if (!text)
            return std::string(name) + " is not set (" + runner.name + ")";
        const auto v = wholeNumber(*text, hi);
        if (!v || *v < lo)
            return std::string(name) + " is not a whole number" + (hi == any ? "" : " from 1 to 1000000");
        return *v;
    };

    std::uint64_t count = 0;
    if (!runner.count) {
        if (!countFlag)
            return std::string("--shard auto with ") + runner.index + " needs --shard-count N, the Job's completions ("
                 + runner.name + " does not export them)";
        count = *countFlag;
    } else {
        const auto given = variable(runner.count, 1, maxShards);
        if (const auto* problem = std::get_if<std::string>(&given))
            return *problem;
        count = std::get<std::uint64_t>(given);
        if (countFlag && *countFlag != count)
            return std::string("--shard-count differs from ") + runner.count;
    }

    const auto given = variable(runner.index, 0, any);
    if (const auto* problem = std::get_if<std::string>(&given))
        return *problem;
    auto index = std::get<std::uint64_t>(given);
    std::string position = runner.index;
    // An array of every step-th index would leave the shards in between unowned.
    if (const auto step = runner.step ? environment(runner.step) : std::nullopt; step && *step != "1")
        return std::string(runner.step) + " is not 1: --shard auto needs a contiguous array (such as --array=0-3); "
                                          "else give --shard K/N";
    if (runner.first) {
        const auto first = variable(runner.first, 0, any);
        if (const auto* problem = std::get_if<std::string>(&first))
            return *problem;
        if (index < std::get<std::uint64_t>(first))
            return position + " is below " + runner.first;
        index -= std::get<std::uint64_t>(first);
        position += " - " + std::string(runner.first);
    }
    if (index >= count)
        return position + " is not below " + (runner.count ? runner.count : "--shard-count");
    return Shard{index, count};
}

} // namespace

std::string shardName(const std::optional<Shard>& shard)
{
    return shard ? std::to_string(shard->index) + "/" + std::to_string(shard->count) : std::string();
}

std::optional<std::string> processEnvironment(const std::string& name)
{
    const char* v = std::getenv(name.c_str());
    return v && *v ? std::optional<std::string>(v) : std::nullopt;
}

std::variant<Shard, std::string> parseShard(const std::string& text, const std::optional<std::string>& count,
                                            const Environment& environment)
{
    std::optional<std::uint64_t> countFlag;
    if (count) {
        countFlag = wholeNumber(*count, maxShards);
        if (!countFlag || *countFlag == 0)
            return std::string("--shard-count takes a whole number from 1 to 1000000");
        if (text != "auto")
            return std::string("--shard-count goes with --shard auto (K/N names its count)");
    }
    if (text == "auto") {
        std::vector<const Runner*> found;
        for (const auto& runner : runners)
            if (environment(runner.index))
                found.push_back(&runner);
        if (found.empty())
            return std::string(kNotFound);
        if (found.size() > 1)
            return std::string("--shard auto found both ") + found[0]->index + " and " + found[1]->index
                 + ": which runner's is meant is unclear; give --shard K/N";
        return fromRunner(*found.front(), countFlag, environment);
    }
    if (const auto slash = text.find('/'); slash != std::string::npos) {
        const auto k = wholeNumber(text.substr(0, slash), std::numeric_limits<std::uint64_t>::max());
        const auto n = wholeNumber(text.substr(slash + 1), maxShards);
        if (k && n && *k < *n)
            return Shard{*k, *n};
    }
    return std::string("--shard takes K/N with 0 <= K < N <= 1000000, such as 0/4, or auto");
}

} // namespace wix::inbox::cli
