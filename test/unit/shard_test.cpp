// SPDX-License-Identifier: BSL-1.0
// --shard K/N and --shard auto, with the job runner's environment given as a table.
#define BOOST_TEST_MODULE cli_shard
#include <boost/test/unit_test.hpp>

#include "cli/shard.hpp"

#include <map>

using namespace wix::inbox::cli;

namespace {

Environment environment(std::map<std::string, std::string> variables)
{
    return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
        const auto it = variables.find(name);
        return it == variables.end() ? std::nullopt : std::optional(it->second);
    };
}

// The shard `text` (and `count`) name under `variables`, as "K/N", or the problem.
std::string parse(const std::string& text, std::map<std::string, std::string> variables = {},
                  std::optional<std::string> count = std::nullopt)
{
    const auto parsed = parseShard(text, count, environment(std::move(variables)));
    if (const auto* shard = std::get_if<Shard>(&parsed))
        return shardName(*shard);
    return "refused: " + std::get<std::string>(parsed);
}

bool refused(const std::string& outcome, const std::string& says)
{
    return outcome.starts_with("refused: ") && outcome.find(says) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(k_of_n_is_read_strictly)
{
    BOOST_TEST(parse("0/4") == "0/4");
    BOOST_TEST(parse("3/4") == "3/4");
    BOOST_TEST(parse("0/1") == "0/1");
    BOOST_TEST(parse("999999/1000000") == "999999/1000000");
    for (const std::string bad : {"", "/", "4/4", "0/0", "1", "-1/4", "+1/4", " 1/4", "1/4 ", "1/1000001", "a/4", "1/4/4",
                                  "18446744073709551616/4", "Auto"})
        BOOST_TEST(refused(parse(bad), "--shard takes K/N"), bad);
}

BOOST_AUTO_TEST_CASE(each_runner_names_the_shard_of_its_worker)
{
    BOOST_TEST(parse("auto", {{"JOB_COMPLETION_INDEX", "2"}}, "5") == "2/5");
    BOOST_TEST(parse("auto", {{"SLURM_ARRAY_TASK_ID", "12"}, {"SLURM_ARRAY_TASK_MIN", "10"},
                              {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_STEP", "1"}})
               == "2/4");
    BOOST_TEST(parse("auto", {{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_MIN", "0"},
                              {"SLURM_ARRAY_TASK_COUNT", "1"}})
               == "0/1");
    BOOST_TEST(parse("auto", {{"AWS_BATCH_JOB_ARRAY_INDEX", "9"}, {"AWS_BATCH_JOB_ARRAY_SIZE", "10"}}) == "9/10");
    BOOST_TEST(parse("auto", {{"CLOUD_RUN_TASK_INDEX", "0"}, {"CLOUD_RUN_TASK_COUNT", "3"}}) == "0/3");
    // --shard-count agrees with a runner that exports the count.
    BOOST_TEST(parse("auto", {{"CLOUD_RUN_TASK_INDEX", "1"}, {"CLOUD_RUN_TASK_COUNT", "3"}}, "3") == "1/3");
}

BOOST_AUTO_TEST_CASE(no_runner_found_says_what_it_looked_for)
{
    const auto outcome = parse("auto", {{"HOSTNAME", "worker-3"}, {"SLURM_JOB_ID", "77"}});
    for (const std::string variable : {"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX",
                                       "CLOUD_RUN_TASK_INDEX", "--shard K/N"})
        BOOST_TEST(refused(outcome, variable), outcome);
    BOOST_TEST(refused(parse("auto", {{"JOB_COMPLETION_INDEX", "1"}, {"CLOUD_RUN_TASK_INDEX", "1"},
                                      {"CLOUD_RUN_TASK_COUNT", "2"}}, "2"),
                       "found both JOB_COMPLETION_INDEX and CLOUD_RUN_TASK_INDEX"));
}

BOOST_AUTO_TEST_CASE(malformed_or_out_of_range_values_are_refused)
{
    BOOST_TEST(refused(parse("auto", {{"JOB_COMPLETION_INDEX", "1"}}), "needs --shard-count"));
    BOOST_TEST(refused(parse("auto", {{"JOB_COMPLETION_INDEX", "4"}}, "4"), "JOB_COMPLETION_INDEX is not below --shard-count"));
    BOOST_TEST(refused(parse("auto", {{"JOB_COMPLETION_INDEX", "-1"}}, "4"), "JOB_COMPLETION_INDEX is not a whole number"));
    BOOST_TEST(refused(parse("auto", {{"JOB_COMPLETION_INDEX", ""}}, "4"), "JOB_COMPLETION_INDEX is not a whole number"));
    for (const std::string count : {"0", "", "x", "1000001", "-4"})
        BOOST_TEST(refused(parse("auto", {{"JOB_COMPLETION_INDEX", "0"}}, count), "--shard-count takes a whole number"),
                   count);
    BOOST_TEST(refused(parse("1/4", {}, "4"), "--shard-count goes with --shard auto"));

    BOOST_TEST(refused(parse("auto", {{"CLOUD_RUN_TASK_INDEX", "3"}, {"CLOUD_RUN_TASK_COUNT", "3"}}),
                       "CLOUD_RUN_TASK_INDEX is not below CLOUD_RUN_TASK_COUNT"));
    BOOST_TEST(refused(parse("auto", {{"CLOUD_RUN_TASK_INDEX", "0"}}), "CLOUD_RUN_TASK_COUNT is not set"));
    BOOST_TEST(refused(parse("auto", {{"CLOUD_RUN_TASK_INDEX", "0"}, {"CLOUD_RUN_TASK_COUNT", "0"}}),
                       "CLOUD_RUN_TASK_COUNT is not a whole number from 1 to 1000000"));
    BOOST_TEST(refused(parse("auto", {{"AWS_BATCH_JOB_ARRAY_INDEX", "1x"}, {"AWS_BATCH_JOB_ARRAY_SIZE", "4"}}),
                       "AWS_BATCH_JOB_ARRAY_INDEX is not a whole number"));
    BOOST_TEST(refused(parse("auto", {{"AWS_BATCH_JOB_ARRAY_INDEX", "1"}, {"AWS_BATCH_JOB_ARRAY_SIZE", "4"}}, "8"),
                       "--shard-count differs from AWS_BATCH_JOB_ARRAY_SIZE"));

    const std::map<std::string, std::string> slurm{{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_MIN", "2"},
                                                   {"SLURM_ARRAY_TASK_COUNT", "3"}};
    BOOST_TEST(refused(parse("auto", slurm), "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN is not below SLURM_ARRAY_TASK_COUNT"));
    auto below = slurm;
    below["SLURM_ARRAY_TASK_ID"] = "1";
    BOOST_TEST(refused(parse("auto", below), "SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN"));
    auto stepped = slurm;
    stepped["SLURM_ARRAY_TASK_ID"] = "4";
    stepped["SLURM_ARRAY_TASK_STEP"] = "2";
    BOOST_TEST(refused(parse("auto", stepped), "SLURM_ARRAY_TASK_STEP is not 1"));
    auto noMin = slurm;
    noMin.erase("SLURM_ARRAY_TASK_MIN");
    BOOST_TEST(refused(parse("auto", noMin), "SLURM_ARRAY_TASK_MIN is not set"));
}

// Usage errors name options and variables, never what they were set to.
BOOST_AUTO_TEST_CASE(problems_never_repeat_a_value)
{
    for (const auto& outcome :
         {parse("secret-ish/4"), parse("auto", {{"JOB_COMPLETION_INDEX", "secret-ish"}}, "4"),
          parse("auto", {{"CLOUD_RUN_TASK_INDEX", "0"}, {"CLOUD_RUN_TASK_COUNT", "secret-ish"}}),
          parse("auto", {{"JOB_COMPLETION_INDEX", "0"}}, "secret-ish")}) {
        BOOST_TEST(outcome.starts_with("refused: "), outcome);
        BOOST_TEST(outcome.find("secret") == std::string::npos, outcome);
    }
}
