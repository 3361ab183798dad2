// SPDX-License-Identifier: BSL-1.0
// What the CLI tells of its work: -v and -vv traces, --quiet, and for batch jobs watched by
// machines the JSON progress lines and --summary-file. A child process against an
// in-process emulator.
#define BOOST_TEST_MODULE cli_observe
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "support.hpp"

#include <wix/inbox/emulator.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <thread>

using wix::inbox::emulator::Emulator;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

using test::slurp;
using test::TempDir;

const std::string apiKey = "KEY-s3cr3t-api-key";
const std::string contact = "00000000-0000-4000-8000-000000000001";

int runCli(const std::vector<std::string>& args, const fs::path& dir)
{
    return test::waitExitWithin(test::spawn(WIX_INBOX_CLI, args, dir), std::chrono::seconds(120));
}

std::vector<std::string> target(const Emulator& e, std::vector<std::string> more)
{
    std::vector<std::string> args{"--base-url", e.url(), "--ca-file", e.caFile()};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::vector<std::string> linesWith(const std::string& text, const std::string& needle)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos)
            out.push_back(line);
    return out;
}

// Turns the emulator's faults off once it has answered `count` requests with a 503 (or once
// a minute has passed: the test then fails on what the CLI printed).
class HealAfter503s {
public:
    HealAfter503s(Emulator& e, std::uint64_t count)
        : thread_([&e, count] {
              e.waitFor([count](const wix::inbox::emulator::Stats& s) {
                  const auto it = s.faults.find("fault-503");
                  return it != s.faults.end() && it->second >= count;
              });
              e.setFaults({});
          })
    {
    }
    ~HealAfter503s() { thread_.join(); }

private:
    std::thread thread_;
};

} // namespace

BOOST_AUTO_TEST_CASE(v_prints_one_line_per_attempt)
{
    wix::inbox::emulator::Options eo;
    eo.faults.status503 = 1;
    eo.faults.retryAfterSeconds = 1;
    Emulator emu(eo);
    TempDir dir;
    {
        HealAfter503s heal(emu, 2);
        BOOST_TEST(runCli(target(emu, {"-v", "get-or-create", "--contact-id", contact}), dir.path) == 0);
    }
    const auto err = slurp(dir.path / "stderr");
    const auto lines = linesWith(err, "GetOrCreateConversation POST /inbox/v2/conversations");
    BOOST_REQUIRE_MESSAGE(lines.size() == 3u, err);
    BOOST_TEST(lines[0].find(" 503 ") != std::string::npos, lines[0]);
    BOOST_TEST(lines[0].find("attempt 1") != std::string::npos, lines[0]);
    BOOST_TEST(lines[0].find("retry in") != std::string::npos, lines[0]);
    BOOST_TEST(lines[0].find("Retry-After 1") != std::string::npos, lines[0]);
    BOOST_TEST(lines[1].find("attempt 2") != std::string::npos, lines[1]);
    BOOST_TEST(lines[2].find(" 200 ") != std::string::npos, lines[2]);
    BOOST_TEST(lines[2].find("attempt 3") != std::string::npos, lines[2]);
    BOOST_TEST(lines[2].find("request-id ") != std::string::npos, lines[2]);
    BOOST_TEST(!slurp(dir.path / "stdout").empty());
}

BOOST_AUTO_TEST_CASE(vv_shows_headers_with_credentials_redacted)
{
    wix::inbox::emulator::Options eo;
    eo.auth.required = true;
    eo.auth.apiKeys = {apiKey};
    Emulator emu(eo);
    TempDir dir;
    // -v given twice is the same level as -vv (program_options refused the repeat).
    for (const std::vector<std::string>& level : {std::vector<std::string>{"-vv"}, {"-v", "-v"}, {"--verbose", "-v"}}) {
        auto args = level;
        args.insert(args.end(), {"--api-key", apiKey, "--site-id", "site-1", "get-or-create", "--contact-id", contact});
        BOOST_TEST(runCli(target(emu, args), dir.path) == 0, slurp(dir.path / "stderr"));
        const auto err = slurp(dir.path / "stderr");
        BOOST_TEST(err.find("> Authorization: [redacted]") != std::string::npos, err);
        BOOST_TEST(err.find("< X-Wix-Request-Id: ") != std::string::npos, err);
        BOOST_TEST(err.find(apiKey) == std::string::npos);
        BOOST_TEST(err.find("s3cr3t") == std::string::npos);
    }
    // One -v: the attempt lines without the headers.
    BOOST_TEST(runCli(target(emu, {"-v", "--api-key", apiKey, "--site-id", "site-1", "get-or-create", "--contact-id",
                                   contact}),
                      dir.path)
               == 0);
    const auto err = slurp(dir.path / "stderr");
    BOOST_TEST(err.find("GetOrCreateConversation POST") != std::string::npos, err);
    BOOST_TEST(err.find("> Authorization") == std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(quiet_prints_nothing_on_success)
{
    Emulator emu;
    TempDir dir;
    BOOST_TEST(runCli(target(emu, {"--quiet", "get-or-create", "--contact-id", contact}), dir.path) == 0);
    BOOST_TEST(slurp(dir.path / "stderr").empty());
    BOOST_TEST(!slurp(dir.path / "stdout").empty());

    std::ofstream(dir.path / "in.ndjson") << R"({"memberId":"00000000-0000-4000-8000-000000000002"})" << "\n";
    BOOST_TEST(runCli(target(emu, {"--quiet", "batch", "--input", (dir.path / "in.ndjson").string(), "--output",
                                   (dir.path / "out.ndjson").string(), "--progress-interval", "1ms"}),
                      dir.path)
               == 0);
    BOOST_TEST(slurp(dir.path / "stderr").empty(), slurp(dir.path / "stderr"));
}

BOOST_AUTO_TEST_CASE(a_batch_off_a_terminal_prints_json_progress_and_writes_its_summary)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = std::chrono::milliseconds(20);
    eo.faults.latencyMax = std::chrono::milliseconds(30);
    Emulator emu(eo);
    TempDir dir;
    {
        std::ofstream in(dir.path / "in.ndjson");
        for (int i = 1; i <= 40; ++i)
            in << R"({"memberId":"00000000-0000-4000-8000-)" << std::setw(12) << std::setfill('0') << i << "\"}\n";
    }
    const auto summaryFile = dir.path / "summary.json";
    BOOST_TEST(runCli(target(emu, {"batch", "--input", (dir.path / "in.ndjson").string(), "--output",
                                   (dir.path / "out.ndjson").string(), "--concurrency", "2", "--progress-interval",
                                   "100ms", "--summary-file", summaryFile.string()}),
                      dir.path)
               == 0);
    const auto err = slurp(dir.path / "stderr");
    std::size_t progressLines = 0;
    for (const auto& line : linesWith(err, R"({"progress":)")) {
        const auto p = json::parse(line).at("progress").as_object();
        BOOST_TEST(p.at("done").as_int64() <= 40);
        BOOST_TEST(p.at("total").as_int64() == 40);
        BOOST_TEST(p.at("failed").as_int64() == 0);
        BOOST_TEST(p.contains("retries"));
        BOOST_TEST(p.contains("throttled"));
        BOOST_TEST(p.contains("callsPerSecond"));
        BOOST_TEST(p.at("elapsedSeconds").as_double() >= 0);
        ++progressLines;
    }
    BOOST_TEST(progressLines >= 1u, err);
    BOOST_TEST(err.find("wix-inbox: batch done: 40 lines") != std::string::npos, err); // the prose stays

    const auto summary = json::parse(slurp(summaryFile)).as_object();
    BOOST_TEST(summary.at("lines").at("ok").as_int64() == 40);
    BOOST_TEST(summary.at("lines").at("failed").as_int64() == 0);
    BOOST_TEST(summary.at("lines").at("skipped").as_int64() == 0);
    BOOST_TEST(summary.at("retries").as_int64() == 0);
    BOOST_TEST(summary.at("throttled").as_int64() == 0);
    BOOST_TEST(summary.at("reconciliation").at("requests").as_int64() == 0);
    BOOST_TEST(summary.at("durationSeconds").as_double() > 0);
    BOOST_TEST(summary.at("callsPerSecond").as_double() > 0);
    BOOST_TEST(summary.at("interrupted").as_bool() == false);
    BOOST_TEST(summary.at("signal").is_null());
    for (const auto& entry : fs::directory_iterator(dir.path))
        BOOST_TEST(entry.path().filename().string().find(".tmp.") == std::string::npos); // no temporary left
}

BOOST_AUTO_TEST_CASE(a_summary_file_that_is_a_symlink_is_never_written_through)
{
    Emulator emu;
    TempDir dir;
    std::ofstream(dir.path / "in.ndjson") << R"({"memberId":"00000000-0000-4000-8000-000000000002"})" << "\n";
    std::ofstream(dir.path / "victim") << "keep";
    fs::create_symlink(dir.path / "victim", dir.path / "summary.json");
    BOOST_TEST(runCli(target(emu, {"batch", "--input", (dir.path / "in.ndjson").string(), "--output",
                                   (dir.path / "out.ndjson").string(), "--summary-file",
                                   (dir.path / "summary.json").string()}),
                      dir.path)
               != 0);
    BOOST_TEST(slurp(dir.path / "victim") == "keep");
    BOOST_TEST(fs::is_symlink(dir.path / "summary.json"));
}
