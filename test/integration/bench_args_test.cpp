// SPDX-License-Identifier: BSL-1.0
// wix-inbox-bench as people run it: a bad argument is one usage line and exit 1 (never an
// abort, never a value echoed), and no temporary file outlives it, however it ends.
#define BOOST_TEST_MODULE bench_args
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "scripted_server.hpp"

#include <signal.h>

#include <algorithm>
#include <thread>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A run of the bench whose temporary files go to a folder of their own, checked afterwards.
struct Bench {
    test::TempDir out, tmp;
    test::ChildOptions options{.environment = {"TMPDIR=" + tmp.path.string()}};

    pid_t start(const std::vector<std::string>& args) { return test::spawn(WIX_INBOX_BENCH, args, out.path, options); }
    std::string stdoutText() const { return test::slurp(out.path / "stdout"); }
    std::string stderrText() const { return test::slurp(out.path / "stderr"); }
    bool leftFiles() const { return !fs::is_empty(tmp.path); }
    // The embedded emulator has written its CA file.
    bool holdsAFile() const
    {
        std::error_code ec;
        for (fs::recursive_directory_iterator it(tmp.path, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec))
                return true;
        return false;
    }
};

} // namespace

BOOST_AUTO_TEST_CASE(bad_arguments_are_one_usage_line_naming_the_option)
{
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Case> cases{
        {{"--bogus"}, "unknown option '--bogus'"},
        {{"--api-kye=s3cret"}, "unknown option '--api-kye'"},
        {{"--requests", "s3cret"}, "--requests takes a number"},
        {{"--requests", "-5"}, "--requests must be a whole number from 1 to"},
        {{"--requests", "0"}, "--requests must be a whole number from 1 to"},
        {{"--warmup", "2.5"}, "--warmup must be a whole number from 0 to"},
        // A count is digits alone: no sign, no exponent, though each of these reads as a number.
        {{"--concurrency", "+5"}, "--concurrency must be a whole number from 1 to 100000"},
        {{"--warmup", "-0"}, "--warmup must be a whole number from 0 to"},
        {{"--distinct", "5e0"}, "--distinct must be a whole number from 1 to"},
        {{"--concurrency", "0"}, "--concurrency must be a whole number from 1 to 100000"},
        {{"--connections", "0"}, "--connections must be a whole number from 1 to 65535"},
        {{"--threads", "-1"}, "--threads must be a whole number from 1 to 256"},
        {{"--emulator-threads", "100"}, "--emulator-threads must be a whole number from 1 to 64"},
        {{"--distinct", "0"}, "--distinct must be a whole number from 1 to"},
        {{"--duration", "-1"}, "--duration must be a number from 0 to 86400"},
        {{"--hold-seconds", "-1"}, "--hold-seconds must be a number from 0 to 86400"},
        {{"--op", "s3cret"}, "--op must be get-or-create, get, list or send"},
        {{"--requests"}, "--requests"},
        {{"s3cret"}, "unexpected argument"},
        {{"--base-url", "s3cret"}, "invalid base URL"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.args.front() << (c.args.size() > 1 ? " " + c.args[1] : ""))
        {
            Bench bench;
            BOOST_TEST(test::waitExitWithin(bench.start(c.args), 60s) == 1);
            const auto err = bench.stderrText();
            BOOST_TEST(err.starts_with("wix-inbox-bench: "), err);
            BOOST_TEST(std::count(err.begin(), err.end(), '\n') == 1, err); // one line
            BOOST_TEST(err.find(c.says) != std::string::npos, err);
            BOOST_TEST(err.find("s3cret") == std::string::npos, err);
            BOOST_TEST(bench.stdoutText().empty());
            BOOST_TEST(!bench.leftFiles());
        }
    }
}

BOOST_AUTO_TEST_CASE(help_names_each_option_and_its_range)
{
    Bench bench;
    BOOST_TEST(test::waitExitWithin(bench.start({"--help"}), 60s) == 0);
    const auto out = bench.stdoutText();
    for (const std::string expected : {"--requests", "calls to measure (1-1000000000000)", "--connections",
                                       "pool size (1-65535)", "--op"})
        BOOST_TEST(out.find(expected) != std::string::npos, expected);
}

BOOST_AUTO_TEST_CASE(a_finished_run_leaves_no_temporary_files)
{
    Bench bench;
    BOOST_TEST(test::waitExitWithin(bench.start({"--requests", "20", "--warmup", "0", "--distinct", "4",
                                                 "--concurrency", "2", "--connections", "1"}),
                                    60s)
               == 0);
    BOOST_TEST(bench.stdoutText().find("\"ok\":20") != std::string::npos, bench.stdoutText());
    BOOST_TEST(!bench.leftFiles());
}

// Stopped in the middle of a long run, the bench still removes the embedded emulator's CA
// file and its folder, and says why it ended (128 + the signal, as a shell reports it).
BOOST_AUTO_TEST_CASE(a_stop_signal_leaves_no_temporary_files)
{
    for (const int signal : {SIGINT, SIGTERM}) {
        BOOST_TEST_CONTEXT("signal " << signal)
        {
            Bench bench;
            const pid_t pid = bench.start({"--duration", "600", "--warmup", "0", "--distinct", "4", "--concurrency",
                                           "2", "--connections", "1"});
            const auto giveUp = Clock::now() + 30s;
            while (!bench.holdsAFile() && Clock::now() < giveUp)
                std::this_thread::sleep_for(10ms); // polling a child's files: no event to wait on
            BOOST_REQUIRE_MESSAGE(bench.holdsAFile(), "the embedded emulator wrote no CA file: " + bench.stderrText());
            ::kill(pid, signal);
            BOOST_TEST(test::waitExitWithin(pid, 30s) == 128 + signal);
            BOOST_TEST(!bench.leftFiles());
            BOOST_TEST(bench.stderrText().find("stopped by a signal") != std::string::npos, bench.stderrText());
        }
    }
}

// The first error the bench prints holds the server's text: it reaches the terminal escaped,
// on its one line.
BOOST_AUTO_TEST_CASE(the_first_error_is_printed_escaped)
{
    const std::string body = R"({"message":"\u001b[2J\u001b]0;pwned\u0007 then\r\nfake line"})";
    test::ScriptedServer server(test::rawResponse("400 Bad Request", body));
    Bench bench;
    BOOST_TEST(test::waitExitWithin(bench.start({"--base-url", server.url(), "--ca-file", server.caFile(), "--requests",
                                                 "1", "--warmup", "0", "--concurrency", "1", "--connections", "1"}),
                                    60s)
               == 2);
    const auto out = bench.stdoutText();
    const auto at = out.find("first error: ");
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, out);
    const auto line = out.substr(at, out.find('\n', at) - at);
    BOOST_TEST(line.find("\\x1b[2J") != std::string::npos, line);
    BOOST_TEST(line.find("fake line") != std::string::npos, line); // on the same line
    BOOST_TEST(out.find('\x1b') == std::string::npos, out);
    BOOST_TEST(out.find('\x07') == std::string::npos, out);
    BOOST_TEST(out.find('\r') == std::string::npos, out);
}

// A timed run has no 10% mark: the memory line leaves that figure out instead of printing 0,
// and the JSON says 0 (not measured); a run of N calls measures it.
BOOST_AUTO_TEST_CASE(rss_at_ten_percent_is_left_out_of_a_timed_run)
{
    const std::vector<std::string> small{"--warmup", "0", "--distinct", "4", "--concurrency", "2", "--connections", "1"};
    auto run = [&](std::vector<std::string> args) {
        Bench bench;
        args.insert(args.end(), small.begin(), small.end());
        BOOST_TEST(test::waitExitWithin(bench.start(args), 60s) == 0, bench.stderrText());
        return bench.stdoutText();
    };
    const auto timed = run({"--duration", "0.2"});
    BOOST_TEST(timed.find("memory: RSS ") != std::string::npos, timed);
    BOOST_TEST(timed.find("at 10% of calls") == std::string::npos, timed);
    BOOST_TEST(timed.find("\"rss_at_10pct_kib\":0,") != std::string::npos, timed);
    const auto counted = run({"--requests", "50"});
    BOOST_TEST(counted.find("at 10% of calls") != std::string::npos, counted);
    BOOST_TEST(counted.find("\"rss_at_10pct_kib\":0,") == std::string::npos, counted);
}
