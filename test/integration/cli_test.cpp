// The wix-inbox CLI as users run it: a child process against an in-process emulator.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include "emulator/emulator.hpp"
#include "process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using wix::inbox::emulator::Emulator;
namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

using test::slurp;
using test::TempDir;
using test::waitExit;

pid_t spawnCli(const std::vector<std::string>& args, const fs::path& dir, const test::ChildOptions& options = {})
{
    return test::spawn(WIX_INBOX_CLI, args, dir, options);
}

int runCli(const std::vector<std::string>& args, const fs::path& dir, const test::ChildOptions& options = {})
{
    return test::waitExitWithin(spawnCli(args, dir, options), std::chrono::seconds(120));
}

std::vector<json::object> readLines(const fs::path& p)
{
    std::vector<json::object> out;
    std::istringstream in(slurp(p));
    for (std::string line; std::getline(in, line);)
        out.push_back(json::parse(line).as_object());
    return out;
}

std::size_t countNewlines(const fs::path& p)
{
    const auto text = slurp(p);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Polls (bounded) until the output holds `lines` lines: the run is then mid-way.
void waitForLines(const fs::path& p, std::size_t lines)
{
    const auto giveUp = Clock::now() + std::chrono::seconds(60);
    while (countNewlines(p) < lines) {
        BOOST_REQUIRE_MESSAGE(Clock::now() < giveUp, "the batch made no progress");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

std::string member(int i)
{
    char out[128];
    std::snprintf(out, sizeof out, R"({"memberId":"00000000-0000-4000-8000-%012d","key":"k%d"})", i, i);
    return out;
}

std::vector<std::string> target(const Emulator& e)
{
    return {"--base-url", e.url(), "--ca-file", e.caFile()};
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// The fields a rerun against the same emulator reproduces (newConversation may differ).
std::string comparable(json::object o)
{
    if (auto* c = o.if_contains("newConversation"))
        *c = nullptr;
    return json::serialize(o);
}

} // namespace

BOOST_AUTO_TEST_CASE(single_calls_print_json_and_set_the_exit_status)
{
    wix::inbox::emulator::Options eo;
    eo.threads = 1;
    Emulator emu(eo);
    TempDir dir;
    BOOST_TEST(runCli(target(emu) + std::vector<std::string>{"get-or-create", "--contact-id",
                                                            "00000000-0000-4000-8000-000000000001"},
                      dir.path) == 0);
    const auto created = json::parse(slurp(dir.path / "stdout")).as_object();
    BOOST_TEST(created.at("newConversation").as_bool());
    const std::string id(created.at("conversation").at("id").as_string());

    BOOST_TEST(runCli(target(emu) + std::vector<std::string>{"get", id}, dir.path) == 0);
    BOOST_TEST(json::parse(slurp(dir.path / "stdout")).at("conversation").at("id").as_string() == id);

    BOOST_TEST(runCli(target(emu) + std::vector<std::string>{"get", "00000000-0000-4000-8000-000000000009"},
                      dir.path) == 2);
    const auto err = slurp(dir.path / "stderr");
    BOOST_TEST(err.find("HTTP 404 CONVERSATION_NOT_FOUND") != std::string::npos, err);
    BOOST_TEST(err.find("request-id") != std::string::npos, err);
    BOOST_TEST(slurp(dir.path / "stdout").empty());

    BOOST_TEST(runCli({"get-or-create"}, dir.path) == 1); // usage
    BOOST_TEST(runCli({"--help"}, dir.path) == 0);
    BOOST_TEST(slurp(dir.path / "stdout").find("batch") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(embedded_emulator_is_the_default_and_secrets_stay_hidden)
{
    TempDir dir;
    BOOST_TEST(runCli({"get-or-create", "--member-id", "00000000-0000-4000-8000-000000000001"}, dir.path) == 0);
    BOOST_TEST(slurp(dir.path / "stderr").find("embedded emulator") != std::string::npos);

    // A secret given on the command line never comes back in output or errors.
    BOOST_TEST(runCli({"--base-url", "https://127.0.0.1:1", "--api-key", "s3cr3t-KEY", "--site-id", "s", "--attempts",
                       "1", "get", "00000000-0000-4000-8000-000000000001"},
                      dir.path) == 2);
    BOOST_TEST(slurp(dir.path / "stderr").find("s3cr3t") == std::string::npos);
    BOOST_TEST(slurp(dir.path / "stdout").find("s3cr3t") == std::string::npos);
    BOOST_TEST(runCli({"--help"}, dir.path) == 0);
    BOOST_TEST(slurp(dir.path / "stdout").find("s3cr3t") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(batch_with_faults_keeps_order_counts_and_pass_through_fields)
{
    wix::inbox::emulator::Options eo;
    eo.faults.status503 = 0.05; // 7% transient failures: within the default retry budget,
    eo.faults.closeBeforeResponse = 0.02; // which throttles retries above ~9%
    eo.faults.retryAfterSeconds = 0;
    Emulator emu(eo);
    TempDir dir;
    {
        std::ofstream in(dir.path / "in.ndjson");
        for (int i = 1; i <= 2000; ++i)
            in << (i % 100 == 0 ? std::string("{\"memberId\": oops}") : member(i % 700)) << "\n";
    }
    const int rc = runCli(target(emu) + std::vector<std::string>{"--attempts", "10", "batch", "--input",
                                                                 (dir.path / "in.ndjson").string(), "--output",
                                                                 (dir.path / "out.ndjson").string(),
                                                                 "--concurrency", "50"},
                          dir.path);
    BOOST_TEST(rc == 2); // 20 malformed lines
    const auto lines = readLines(dir.path / "out.ndjson");
    BOOST_REQUIRE(lines.size() == 2000u);
    std::map<std::string, std::string> idOf;
    for (int i = 1; i <= 2000; ++i) {
        const auto& l = lines[static_cast<std::size_t>(i - 1)];
        BOOST_REQUIRE(l.at("line").as_int64() == i);
        if (i % 100 == 0) {
            BOOST_TEST(!l.at("ok").as_bool());
            BOOST_TEST(l.at("error").at("code").as_string() == "invalidInput");
            continue;
        }
        BOOST_REQUIRE_MESSAGE(l.at("ok").as_bool(), json::serialize(l));
        BOOST_TEST(l.at("key").as_string() == "k" + std::to_string(i % 700));
        const std::string id(l.at("conversation").at("id").as_string());
        auto [it, fresh] = idOf.emplace(std::string(l.at("key").as_string()), id);
        BOOST_TEST(it->second == id); // the same member always resolves to one conversation
    }
    const auto summary = slurp(dir.path / "stderr");
    BOOST_TEST(summary.find("1980 ok, 20 failed") != std::string::npos, summary);
    BOOST_TEST(emu.stats().faults.size() >= 1u);
}

BOOST_AUTO_TEST_CASE(hostile_input_lines_get_error_lines)
{
    wix::inbox::emulator::Options eo;
    eo.threads = 1;
    Emulator emu(eo);
    TempDir dir;
    {
        std::ofstream in(dir.path / "in.ndjson", std::ios::binary);
        in << "not json\n"                                              // 1
           << "\n"                                                      // 2 empty
           << "[1,2,3]\n"                                               // 3 not an object
           << R"({"memberId": 42})" << "\n"                             // 4 wrong type
           << R"({"memberId": "not-a-guid"})" << "\n"                   // 5 invalid GUID
           << R"({"memberId":"00000000-0000-4000-8000-000000000001","contactId":"00000000-0000-4000-8000-000000000001"})"
           << "\n"                                                      // 6 two requests
           << R"({"key": "nothing to do"})" << "\n"                     // 7 no request
           << R"({"memberId":")" << std::string(200000, 'a') << "\"}\n" // 8 huge line
           << std::string(100, '[') << "\n"                             // 9 deep/broken
           << member(1);                                                // 10 no final newline
    }
    BOOST_TEST(runCli(target(emu) + std::vector<std::string>{"batch", "--input", (dir.path / "in.ndjson").string(),
                                                            "--output", (dir.path / "out.ndjson").string()},
                      dir.path) == 2);
    const auto lines = readLines(dir.path / "out.ndjson");
    BOOST_REQUIRE(lines.size() == 10u);
    for (std::size_t i = 0; i < 9; ++i) {
        BOOST_TEST(lines[i].at("line").as_int64() == static_cast<std::int64_t>(i + 1));
        BOOST_TEST(!lines[i].at("ok").as_bool(), i + 1);
    }
    BOOST_TEST(lines[4].at("error").at("code").as_string() == "invalidArgument");
    BOOST_TEST(lines[7].at("error").at("message").as_string().find("longer than") != std::string::npos);
    BOOST_TEST(lines[9].at("ok").as_bool());
    BOOST_TEST(lines[9].at("key").as_string() == "k1");
}

BOOST_AUTO_TEST_CASE(resume_after_kill_9_equals_an_uninterrupted_run)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = std::chrono::milliseconds(4); // slow enough to be killed mid-way:
    eo.faults.latencyMax = std::chrono::milliseconds(6); // ~800 lines/s at concurrency 4
    Emulator emu(eo);
    TempDir dir;
    constexpr int total = 2000;
    {
        std::ofstream in(dir.path / "in.ndjson");
        for (int i = 1; i <= total; ++i)
            in << member(i) << "\n";
    }
    const auto input = (dir.path / "in.ndjson").string();
    const auto out = dir.path / "out.ndjson";
    const auto batch = [&](const fs::path& output, bool resume) {
        auto args = target(emu) + std::vector<std::string>{"batch", "--input", input, "--output", output.string(),
                                                           "--concurrency", "4"};
        if (resume)
            args.push_back("--resume");
        return args;
    };

    const pid_t pid = spawnCli(batch(out, false), dir.path);
    waitForLines(out, 300);
    ::kill(pid, SIGKILL);
    BOOST_TEST(waitExit(pid) == 128 + SIGKILL);
    const auto before = countNewlines(out);
    BOOST_TEST(before < static_cast<std::size_t>(total));

    BOOST_TEST(runCli(batch(out, true), dir.path) == 0);
    BOOST_TEST(slurp(dir.path / "stderr").find("lines done before") != std::string::npos);
    BOOST_TEST(runCli(batch(dir.path / "reference.ndjson", false), dir.path) == 0);

    const auto resumed = readLines(out);
    const auto reference = readLines(dir.path / "reference.ndjson");
    BOOST_REQUIRE(resumed.size() == static_cast<std::size_t>(total));
    BOOST_REQUIRE(reference.size() == static_cast<std::size_t>(total));
    for (std::size_t i = 0; i < resumed.size(); ++i)
        BOOST_REQUIRE_EQUAL(comparable(resumed[i]), comparable(reference[i]));
}

BOOST_AUTO_TEST_CASE(ctrl_c_finishes_calls_in_flight_and_leaves_a_resumable_file)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = std::chrono::milliseconds(5);
    Emulator emu(eo);
    TempDir dir;
    {
        std::ofstream in(dir.path / "in.ndjson");
        for (int i = 1; i <= 2000; ++i)
            in << member(i) << "\n";
    }
    const auto args = target(emu) + std::vector<std::string>{"batch", "--input", (dir.path / "in.ndjson").string(),
                                                            "--output", (dir.path / "out.ndjson").string(),
                                                            "--concurrency", "4"};
    const pid_t pid = spawnCli(args, dir.path);
    waitForLines(dir.path / "out.ndjson", 300);
    ::kill(pid, SIGINT);
    BOOST_TEST(waitExit(pid) == 130);
    const auto partial = readLines(dir.path / "out.ndjson"); // every line complete and parseable
    BOOST_TEST(partial.size() < 2000u);
    for (std::size_t i = 0; i < partial.size(); ++i)
        BOOST_TEST(partial[i].at("line").as_int64() == static_cast<std::int64_t>(i + 1));
    auto resume = args;
    resume.push_back("--resume");
    BOOST_TEST(runCli(resume, dir.path) == 0);
    BOOST_TEST(readLines(dir.path / "out.ndjson").size() == 2000u);
}
