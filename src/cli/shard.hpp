// SPDX-License-Identifier: BSL-1.0
// --shard: which part of one input this worker of N takes, given as K/N or found in the
// environment of the job runner that started it (--shard auto). Pure: the environment is
// passed in, so it is tested without touching the process's own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

namespace wix::inbox::cli {

/// --shard K/N: this run takes the lines whose tenant (or, naming none, participant or
/// conversation) hashes to K of N, 0 <= K < N; malformed lines are shard 0's.
struct Shard {
    std::uint64_t index = 0;
    std::uint64_t count = 1;
};
/// "K/N"; empty for none.
std::string shardName(const std::optional<Shard>& shard);

/// Most workers one input is split between.
constexpr std::uint64_t maxShards = 1'000'000;

/// An environment variable's value, or nullopt where it is unset.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;

/// The process's own environment; a variable set empty counts as unset, as the WIX_
/// variables do (a job template's `NAME=` names nothing).
std::optional<std::string> processEnvironment(const std::string& name);

/// The value of --shard, with --shard-count's (`count`) if given: "K/N", or "auto" for
/// this worker's index and count as its job runner exports them:
/// - a Kubernetes Indexed Job: JOB_COMPLETION_INDEX of --shard-count (Kubernetes does not
///   export the job's completions);
/// - a Slurm job array: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT
///   (a contiguous array: a step other than 1 is refused);
/// - an AWS Batch array job: AWS_BATCH_JOB_ARRAY_INDEX of AWS_BATCH_JOB_ARRAY_SIZE;
/// - a Cloud Run job: CLOUD_RUN_TASK_INDEX of CLOUD_RUN_TASK_COUNT.
/// --shard-count goes only with auto; where the runner exports a count, it must agree.
/// Otherwise a usage error: none of those runners found (listing what was looked for), two
/// of them, a value that is not a whole number, an index not below its count, a count
/// above maxShards. Messages name options and variables, never their values.
std::variant<Shard, std::string> parseShard(const std::string& text, const std::optional<std::string>& count,
                                            const Environment& environment);

} // namespace wix::inbox::cli
