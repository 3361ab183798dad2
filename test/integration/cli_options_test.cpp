// SPDX-License-Identifier: BSL-1.0
// The command line's defaults and refusals, as users and job runners meet them: the CLI as a
// child process, over TLS, against the emulator (in-process, or standalone for many workers).
#define BOOST_TEST_MODULE cli_options
#include <boost/test/unit_test.hpp>

#include "process.hpp"

#include <wix/inbox/emulator.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

extern char** environ;

using wix::inbox::emulator::Emulator;
namespace json = boost::json;
namespace fs = std::filesystem;
using Args = std::vector<std::string>;

namespace {

using test::slurp;
using test::TempDir;

const std::string someMember = "00000000-0000-4000-8000-000000000001";

// The variables the CLI reads, set empty (which it reads as unset) so that the machine's own
// never change what a test means.
const std::vector<std::string> cleanEnvironment{
    "WIX_API_KEY=", "WIX_SITE_ID=", "WIX_ACCOUNT_ID=", "WIX_ACCESS_TOKEN=", "WIX_APP_ID=", "WIX_APP_SECRET=",
    "WIX_INSTANCE_ID=", "WIX_BASE_URL=", "WIX_CA_FILE=", "JOB_COMPLETION_INDEX=", "SLURM_ARRAY_TASK_ID=",
    "AWS_BATCH_JOB_ARRAY_INDEX=", "CLOUD_RUN_TASK_INDEX=", "CLOUD_RUN_TASK_COUNT="};

Args operator+(Args a, const Args& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// cleanEnvironment, with `variables` (NAME=VALUE) set.
std::vector<std::string> withVariables(const std::vector<std::string>& variables)
{
    std::vector<std::string> all = variables;
    for (const auto& clean : cleanEnvironment)
        if (std::none_of(variables.begin(), variables.end(), [&](const auto& v) { return v.starts_with(clean); }))
            all.push_back(clean);
    return all;
}

int runCli(const Args& args, const fs::path& dir, const std::vector<std::string>& variables = {})
{
    return test::waitExitWithin(test::spawn(WIX_INBOX_CLI, args, dir, {.environment = withVariables(variables)}),
                                std::chrono::seconds(120));
}

Args target(const Emulator& e)
{
    return {"--base-url", e.url(), "--ca-file", e.caFile()};
}

std::vector<json::object> readLines(const fs::path& p)
{
    std::vector<json::object> out;
    std::istringstream in(slurp(p));
    for (std::string line; std::getline(in, line);)
        out.push_back(json::parse(line).as_object());
    return out;
}

// A site ID for tenant `i`.
std::string site(int i)
{
    char out[64];
    std::snprintf(out, sizeof out, "5170a1e0-0000-4000-8000-%012d", i);
    return out;
}

std::string memberLine(int i, const std::optional<std::string>& siteId)
{
    char out[160];
    std::snprintf(out, sizeof out, R"({"memberId":"00000000-0000-4000-8000-%012d",)", i);
    return out + (siteId ? R"("siteId":")" + *siteId + R"(",)" : std::string()) + R"("row":)" + std::to_string(i) + "}";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// A program on the PATH, or empty.
std::string onPath(const std::string& program)
{
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');)
        if (!dir.empty() && ::access((fs::path(dir) / program).c_str(), X_OK) == 0)
            return (fs::path(dir) / program).string();
    return {};
}

std::string shellQuoted(const std::string& s)
{
    std::string out = "'";
    for (const char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// The standalone emulator, as the workers of one job share it: its start-up line is read
// from a pipe (a blocking read, bounded by poll()); it is stopped at the end of the test.
class StandaloneEmulator {
public:
    StandaloneEmulator(const Args& args, const fs::path& dir)
    {
        int fds[2];
        BOOST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
        const std::string errors = (dir / "emulator.stderr").string();
        ::posix_spawn_file_actions_addopen(&actions, 2, errors.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::vector<std::string> storage = Args{WIX_INBOX_EMULATOR} + args;
        std::vector<char*> argv;
        for (auto& a : storage)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        const int spawned = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        ::posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        out_ = fds[0];
        BOOST_REQUIRE_MESSAGE(spawned == 0, "cannot start the emulator");
        std::string line;
        while (!contains(line, "\n")) {
            pollfd p{out_, POLLIN, 0};
            BOOST_REQUIRE_MESSAGE(::poll(&p, 1, 20'000) == 1, "the emulator did not start: " + slurp(errors));
            char chunk[512];
            const auto n = ::read(out_, chunk, sizeof chunk);
            BOOST_REQUIRE_MESSAGE(n > 0, "the emulator ended: " + slurp(errors));
            line.append(chunk, static_cast<std::size_t>(n));
        }
        const auto o = json::parse(line.substr(0, line.find('\n'))).as_object();
        url = std::string(o.at("url").as_string());
        caFile = std::string(o.at("ca_file").as_string());
    }
    ~StandaloneEmulator()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            test::waitExit(pid_);
        }
        if (out_ >= 0)
            ::close(out_);
    }
    StandaloneEmulator(const StandaloneEmulator&) = delete;
    StandaloneEmulator& operator=(const StandaloneEmulator&) = delete;

    std::string url, caFile;

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

} // namespace

// A job that lost its secret used to run against a throwaway emulator and exit 0.
BOOST_AUTO_TEST_CASE(no_credentials_and_no_base_url_is_refused)
{
    TempDir dir;
    std::ofstream(dir.path / "in.ndjson") << memberLine(1, std::nullopt) << "\n";
    for (const Args& args : {Args{"get-or-create", "--member-id", someMember},
                             Args{"batch", "--input", (dir.path / "in.ndjson").string(), "--output",
                                  (dir.path / "out.ndjson").string()}}) {
        BOOST_TEST(runCli(args, dir.path) == 1);
        const auto err = slurp(dir.path / "stderr");
        for (const std::string names : {"no credentials", "--api-key", "--access-token", "--app-id", "--emulator"})
            BOOST_TEST(contains(err, names), err);
        BOOST_TEST(!contains(err, "using the embedded emulator"), err);
        BOOST_TEST(slurp(dir.path / "stdout").empty());
    }
    BOOST_TEST(!fs::exists(dir.path / "out.ndjson"));

    // Asked for, the emulator is there.
    BOOST_TEST(runCli({"--emulator", "get-or-create", "--member-id", someMember}, dir.path) == 0);
    BOOST_TEST(contains(slurp(dir.path / "stderr"), "--emulator: using the embedded emulator at https://127.0.0.1:"));
    BOOST_TEST(json::parse(slurp(dir.path / "stdout")).at("newConversation").as_bool());
}

BOOST_AUTO_TEST_CASE(base_url_and_ca_file_come_from_the_environment_and_flags_win)
{
    Emulator emu;
    TempDir dir;
    const Args call{"get-or-create", "--member-id", someMember};
    const std::vector<std::string> environment{"WIX_BASE_URL=" + emu.url(), "WIX_CA_FILE=" + emu.caFile()};
    BOOST_TEST(runCli(call, dir.path, environment) == 0, slurp(dir.path / "stderr"));
    BOOST_TEST(emu.stats().byRoute["getOrCreateConversation"] == 1u);
    BOOST_TEST(!contains(slurp(dir.path / "stderr"), "embedded emulator"));

    // A flag beats its variable: nothing listens on port 1.
    BOOST_TEST(runCli(target(emu) + call, dir.path, {"WIX_BASE_URL=https://127.0.0.1:1"}) == 0,
               slurp(dir.path / "stderr"));
    BOOST_TEST(emu.stats().byRoute["getOrCreateConversation"] == 2u);
    BOOST_TEST(runCli(Args{"--base-url", emu.url(), "--ca-file", emu.caFile(), "--attempts", "1"} + call, dir.path,
                      {"WIX_CA_FILE=/nonexistent/ca.pem"})
               == 0, slurp(dir.path / "stderr"));
}

// Wix's site-level APIs take wix-site-id alone: lines that name their site need no account.
BOOST_AUTO_TEST_CASE(an_api_key_serves_lines_that_name_their_site_without_an_account)
{
    wix::inbox::emulator::Options eo;
    eo.auth.required = true;
    eo.auth.apiKeys = {"site-key-123"};
    Emulator emu(eo);
    TempDir dir;
    {
        std::ofstream in(dir.path / "in.ndjson");
        in << memberLine(1, site(1)) << "\n"
           << memberLine(2, std::nullopt) << "\n"
           << memberLine(3, site(2)) << "\n";
    }
    const Args batch{"batch", "--input", (dir.path / "in.ndjson").string(), "--output", (dir.path / "out.ndjson").string()};
    BOOST_TEST(runCli(target(emu) + Args{"--api-key", "site-key-123"} + batch, dir.path) == 2, slurp(dir.path / "stderr"));
    const auto lines = readLines(dir.path / "out.ndjson");
    BOOST_REQUIRE(lines.size() == 3u);
    BOOST_TEST(lines[0].at("ok").as_bool(), json::serialize(lines[0]));
    BOOST_TEST(lines[2].at("ok").as_bool(), json::serialize(lines[2]));
    BOOST_TEST(!lines[1].at("ok").as_bool());
    const std::string says(lines[1].at("error").at("message").as_string());
    for (const std::string part : {"names no siteId", "--site-id", "--account-id"})
        BOOST_TEST(contains(says, part), says);
    BOOST_TEST(emu.stats().authRejected == 0u);
    BOOST_TEST(!contains(slurp(dir.path / "stderr"), "site-key-123"));

    // A single call names no site of its own: it still needs one.
    BOOST_TEST(runCli(target(emu) + Args{"--api-key", "site-key-123", "get-or-create", "--member-id", someMember},
                      dir.path) == 1);
    BOOST_TEST(contains(slurp(dir.path / "stderr"), "--site-id or --account-id is missing"), slurp(dir.path / "stderr"));
}

// An unset variable in a job template used to give `--shard ""`, read as "no shard": every
// worker then did the whole input.
BOOST_AUTO_TEST_CASE(a_shard_that_names_no_worker_is_refused)
{
    TempDir dir;
    std::ofstream(dir.path / "in.ndjson") << memberLine(1, std::nullopt) << "\n";
    const Args batch{"--emulator", "batch", "--input", (dir.path / "in.ndjson").string(), "--output",
                     (dir.path / "out.ndjson").string()};
    const auto refused = [&](const Args& shard, const std::vector<std::string>& environment, const std::string& says) {
        BOOST_TEST(runCli(batch + shard, dir.path, environment) == 1);
        const auto err = slurp(dir.path / "stderr");
        BOOST_TEST(contains(err, says), err);
        BOOST_TEST(!fs::exists(dir.path / "out.ndjson"));
    };
    refused({"--shard", ""}, {}, "--shard takes K/N");
    refused({"--shard="}, {}, "option '--shard'");
    refused({"--shard", "auto"}, {}, "JOB_COMPLETION_INDEX");
    refused({"--shard", "auto"}, {}, "CLOUD_RUN_TASK_INDEX");
    refused({"--shard", "auto"}, {"JOB_COMPLETION_INDEX=2"}, "needs --shard-count");
    refused({"--shard", "auto", "--shard-count", "2"}, {"JOB_COMPLETION_INDEX=2"}, "not below --shard-count");
    refused({"--shard", "auto"}, {"CLOUD_RUN_TASK_INDEX=x1", "CLOUD_RUN_TASK_COUNT=4"}, "not a whole number");
    refused({"--shard", "1/4", "--shard-count", "4"}, {}, "--shard-count goes with --shard auto");

    // Found, the runner's index and count are this worker's shard.
    BOOST_TEST(runCli(batch + Args{"--shard", "auto"}, dir.path, {"AWS_BATCH_JOB_ARRAY_INDEX=1", "AWS_BATCH_JOB_ARRAY_SIZE=40"})
               == 0, slurp(dir.path / "stderr"));
}

// --emulator and --base-url name two different services: the pair is refused, never
// resolved silently to the emulator; WIX_BASE_URL, a default, gives way to --emulator.
BOOST_AUTO_TEST_CASE(the_emulator_with_a_base_url_is_refused)
{
    Emulator emu;
    TempDir dir;
    const Args call{"get-or-create", "--member-id", someMember};
    BOOST_TEST(runCli(Args{"--emulator", "--base-url", emu.url(), "--ca-file", emu.caFile()} + call, dir.path) == 1);
    const auto err = slurp(dir.path / "stderr");
    BOOST_TEST(contains(err, "--emulator and --base-url go against each other"), err);
    BOOST_TEST(!contains(err, "using the embedded emulator"), err);
    BOOST_TEST(slurp(dir.path / "stdout").empty());
    BOOST_TEST(emu.stats().requests == 0u);
    BOOST_TEST(runCli(Args{"--emulator"} + call, dir.path, {"WIX_BASE_URL=" + emu.url()}) == 0,
               slurp(dir.path / "stderr"));
    BOOST_TEST(emu.stats().requests == 0u);
}

// A help flag before the command shows that command's help and calls nothing: `-h send ...`
// used to send the message.
BOOST_AUTO_TEST_CASE(help_before_a_command_shows_its_help_and_calls_nothing)
{
    Emulator emu;
    TempDir dir;
    for (const std::string help : {"--help", "-h"}) {
        const Args send{help, "send", "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "--text", "sent by help"};
        BOOST_TEST(runCli(target(emu) + send, dir.path) == 0, slurp(dir.path / "stderr"));
        BOOST_TEST(contains(slurp(dir.path / "stdout"), "send options"), slurp(dir.path / "stdout"));
    }
    BOOST_TEST(emu.stats().requests == 0u);
}

// A malformed ID is bad input, refused before anything is sent: exit 1 as a usage error, not
// 2 as a failed call; an ID of the right form that the service does not know is a failed call.
BOOST_AUTO_TEST_CASE(a_malformed_id_is_a_usage_error)
{
    Emulator emu;
    TempDir dir;
    for (const Args& call : {Args{"get", "not-a-guid"}, Args{"send", "not-a-guid", "--text", "hi"},
                             Args{"messages", "list", "not-a-guid"}, Args{"messages", "list", "not-a-guid", "--all"},
                             Args{"get-or-create", "--member-id", "not-a-guid"}}) {
        BOOST_TEST(runCli(target(emu) + call, dir.path) == 1, call.front());
        BOOST_TEST(contains(slurp(dir.path / "stderr"), "is not a GUID"), slurp(dir.path / "stderr"));
        BOOST_TEST(slurp(dir.path / "stdout").empty());
    }
    BOOST_TEST(emu.stats().requests == 0u);
    BOOST_TEST(runCli(target(emu) + Args{"get", "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}, dir.path) == 2);
    BOOST_TEST(contains(slurp(dir.path / "stderr"), "CONVERSATION_NOT_FOUND"), slurp(dir.path / "stderr"));
}

// A whole number is digits alone: "+5" and "-0" are refused with the message any bad value
// gets (from_chars read "-0" as 0), and nothing is called.
BOOST_AUTO_TEST_CASE(a_signed_whole_number_is_refused)
{
    Emulator emu;
    TempDir dir;
    const Args call{"get-or-create", "--member-id", someMember};
    const std::string id = "6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
    struct Case {
        Args args;
        std::string says;
    };
    for (const std::string sign : {"+", "-"}) {
        const std::vector<Case> cases{
            {Args{"--attempts", sign + "5"} + call, "--attempts takes a whole number from 1 to 100"},
            {Args{"--attempt-timeout-ms", sign + "0"} + call, "--attempt-timeout-ms takes a whole number from 0 to"},
            {Args{"--timeout-ms", sign + "5000"} + call, "--timeout-ms takes a whole number from 1 to"},
            {Args{"--connections", sign + "5"} + call, "--connections takes a whole number from 1 to 65535"},
            {Args{"messages", "list", id, "--limit", sign + "5"}, "--limit takes a whole number from 1 to 100"},
            {Args{"batch", "--input", "in.ndjson", "--output", "out.ndjson", "--concurrency", sign + "5"},
             "--concurrency takes a whole number from 1 to"},
            {Args{"listen", "--port", sign + "0", "--public-key", "key.pem"}, "listen needs --port, a whole number"},
        };
        for (const auto& c : cases) {
            BOOST_TEST(runCli(target(emu) + c.args, dir.path) == 1, c.says);
            BOOST_TEST(contains(slurp(dir.path / "stderr"), c.says), slurp(dir.path / "stderr"));
        }
    }
    BOOST_TEST(emu.stats().requests == 0u);
    BOOST_TEST(runCli(target(emu) + Args{"--attempts", "5", "--attempt-timeout-ms", "0"} + call, dir.path) == 0,
               slurp(dir.path / "stderr"));
}

// Below one request a day the limiter's interval overflowed, and "0.0000001/h" sent at full speed.
BOOST_AUTO_TEST_CASE(a_rate_below_one_a_day_is_refused)
{
    TempDir dir;
    const Args call{"get-or-create", "--member-id", someMember};
    for (const std::string rate : {"0/s", "0.0000001/h", "1e-9/s", "0.000001/d", "0.5/d", "-1/s", "1/week"}) {
        BOOST_TEST(runCli(Args{"--emulator", "--rate", rate} + call, dir.path) == 1, rate);
        BOOST_TEST(contains(slurp(dir.path / "stderr"), "--rate takes a rate"), rate << ": " << slurp(dir.path / "stderr"));
    }
    // One a day is a rate: the first call goes at once.
    BOOST_TEST(runCli(Args{"--emulator", "--rate", "1/d"} + call, dir.path) == 0, slurp(dir.path / "stderr"));
}

// N workers under one job runner, each finding its shard in the runner's environment, split
// one input: every line in exactly one output, every tenant in exactly one shard.
BOOST_AUTO_TEST_CASE(shard_auto_splits_one_input_between_workers_under_gnu_parallel,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                         boost::test_tools::assertion_result found(!onPath("parallel").empty());
                         found.message() << "GNU parallel is not installed (Debian package `parallel`, which "
                                            "scripts/test.sh installs)";
                         return found;
                     }))
{
    TempDir dir;
    StandaloneEmulator emulator({"--require-auth", "--api-key", "shard-key-123"}, dir.path);
    constexpr int tenants = 40, shards = 4;
    std::map<int, std::string> siteOfLine; // input line number → its site
    {
        std::ofstream in(dir.path / "in.ndjson");
        for (int line = 1; line <= 2 * tenants; ++line) { // two members per tenant
            siteOfLine[line] = site((line - 1) % tenants);
            in << memberLine(line, siteOfLine[line]) << "\n";
        }
    }
    const std::string worker = "CLOUD_RUN_TASK_INDEX={} CLOUD_RUN_TASK_COUNT=" + std::to_string(shards) + " "
                             + shellQuoted(WIX_INBOX_CLI) + " --base-url " + shellQuoted(emulator.url) + " --ca-file "
                             + shellQuoted(emulator.caFile) + " --api-key shard-key-123 batch --input "
                             + shellQuoted((dir.path / "in.ndjson").string()) + " --output "
                             + shellQuoted((dir.path / "out.").string()) + "{}.ndjson --shard auto";
    BOOST_TEST(test::waitExitWithin(test::spawn(onPath("parallel"),
                                                {"--will-cite", "--jobs", std::to_string(shards), worker, ":::", "0",
                                                 "1", "2", "3"},
                                                dir.path, {.environment = cleanEnvironment}),
                                    std::chrono::seconds(120))
                   == 0,
               slurp(dir.path / "stderr"));

    std::map<std::int64_t, int> shardOfLine;
    std::map<std::string, std::set<int>> shardsOfSite;
    for (int shard = 0; shard < shards; ++shard) {
        const auto lines = readLines(dir.path / ("out." + std::to_string(shard) + ".ndjson"));
        BOOST_TEST(!lines.empty(), "shard " << shard << " got no line");
        for (const auto& line : lines) {
            const auto n = line.at("line").as_int64();
            BOOST_TEST(line.at("ok").as_bool(), json::serialize(line));
            BOOST_TEST(shardOfLine.emplace(n, shard).second, "line " << n << " in two shards");
            BOOST_TEST(line.at("row").as_int64() == n); // the input's own line, not another's
            const std::string s(line.at("siteId").as_string());
            BOOST_TEST(s == siteOfLine[static_cast<int>(n)]);
            shardsOfSite[s].insert(shard);
        }
    }
    BOOST_TEST(shardOfLine.size() == siteOfLine.size()); // with no duplicate, the union is the input
    BOOST_TEST(shardsOfSite.size() == static_cast<std::size_t>(tenants));
    for (const auto& [s, in] : shardsOfSite)
        BOOST_TEST(in.size() == 1u, s << " is in " << in.size() << " shards");
}
