// SPDX-License-Identifier: BSL-1.0
// The standalone wix-inbox-emulator as scripts run it: start-up validation, clean exits,
// and a machine out of file descriptors.
#define BOOST_TEST_MODULE emulator_process
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "raw_client.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
namespace json = boost::json;
namespace net = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Started {
    pid_t pid;
    std::string url;
    std::string caFile;
    unsigned short port;
    std::string webhookKeyFile; ///< empty without --webhook-url
};

// Starts the emulator and waits (bounded) for its JSON line.
Started start(const std::vector<std::string>& args, const fs::path& dir, const test::ChildOptions& options = {})
{
    const pid_t pid = test::spawn(WIX_INBOX_EMULATOR, args, dir, options);
    const auto giveUp = Clock::now() + 20s;
    std::string line;
    while ((line = test::slurp(dir / "stdout")).find('\n') == std::string::npos) {
        BOOST_REQUIRE_MESSAGE(Clock::now() < giveUp, "the emulator did not start: " + test::slurp(dir / "stderr"));
        std::this_thread::sleep_for(10ms); // polling a child's output: no event to wait on
    }
    const auto o = json::parse(line).as_object();
    const std::string url(o.at("url").as_string());
    const auto* key = o.if_contains("webhook_public_key_file");
    return {pid, url, std::string(o.at("ca_file").as_string()),
            static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1))),
            key ? std::string(key->as_string()) : std::string()};
}

// Runs the emulator with `args` and expects it to refuse to start.
std::string refusal(const std::vector<std::string>& args, const test::ChildOptions& options = {})
{
    test::TempDir dir;
    BOOST_TEST(test::waitExitWithin(test::spawn(WIX_INBOX_EMULATOR, args, dir.path, options), 20s) == 1);
    BOOST_TEST(test::slurp(dir.path / "stdout").empty());
    const auto err = test::slurp(dir.path / "stderr");
    BOOST_TEST(std::count(err.begin(), err.end(), '\n') == 1, err); // one line
    BOOST_TEST(err.find(".hpp") == std::string::npos, err);         // no Boost source paths
    return err;
}

// Children started while one lives put their temporary files in a folder of their own
// (other tests running in parallel use the system's).
struct PrivateTmp {
    PrivateTmp() { ::setenv("TMPDIR", dir.path.c_str(), 1); }
    ~PrivateTmp() { ::unsetenv("TMPDIR"); }
    bool empty() const { return fs::is_empty(dir.path); }
    test::TempDir dir;
};

double cpuSeconds(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) // fields 3..13
        fields >> skip;
    double user = 0, system = 0;
    fields >> user >> system;
    return (user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace

BOOST_AUTO_TEST_CASE(flags_out_of_range_are_refused_with_one_clear_line)
{
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Case> cases{
        {{"--fault-503", "1.5"}, "--fault-503 must be a number from 0 to 1"},
        {{"--fault-429", "-0.1"}, "--fault-429 must be a number from 0 to 1"},
        {{"--fault-500", "0.6", "--fault-503", "0.6"}, "add up to more than 1"},
        {{"--latency-min-ms", "50", "--latency-max-ms", "10"}, "--latency-max-ms must be >= --latency-min-ms"},
        {{"--retry-after", "-1"}, "--retry-after must be a whole number from 0 to 86400"},
        {{"--port", "70000"}, "--port must be a whole number from 0 to 65535"},
        {{"--threads", "-1"}, "--threads must be a whole number from 1 to 64"},
        {{"--port", "s3cret"}, "--port must be a whole number from 0 to 65535"},
        {{"--port", "+5"}, "--port must be a whole number from 0 to 65535"},
        // Every bad value is named at once, not one per run.
        {{"--port", "70000", "--fault-503", "1.5", "--app", "a", "--app", "b"},
         "--port must be a whole number from 0 to 65535; --fault-503 must be a number from 0 to 1; --app takes "
         "APP_ID:APP_SECRET (see --help)"},
        {{"--retry-after-date", "false"}, "too many positional options"}, // a stray word is refused, not ignored
        // A misspelt flag is named without the value given with it, which may be a secret.
        {{"--api-kye=s3cret"}, "unrecognised option '--api-kye'"},
        {{"-as3cret"}, "unrecognised option '-a'"},
        {{"--ap=s3cret"}, "option '--ap' is ambiguous"},
        {{"--require-auth=s3cret"}, "option '--require-auth' does not take any arguments"},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.args.front())
        {
            const auto err = refusal(c.args);
            BOOST_TEST(err.find(c.says) != std::string::npos, err);
            BOOST_TEST(err.find("s3cret") == std::string::npos, err);
        }
    }
}

// Each fault setting is defined once: its flag and its key of POST /_emulator/faults take
// the same values and refuse the same, in the same words.
BOOST_AUTO_TEST_CASE(a_setting_takes_the_same_range_as_a_flag_and_through_the_admin_endpoint)
{
    test::TempDir dir;
    const auto e = start({}, dir.path);
    struct Case {
        std::string name, refused, accepted;
        bool quoted = false; ///< a JSON string in the body, as a rate is
    };
    const std::vector<Case> cases{
        {"retry-after", "86401", "86400"},
        {"retry-after", "1.5", "2"},
        {"latency-min-ms", "3600001", "3600000"},
        {"idle-timeout-ms", "-1", "0"},
        {"close-after-requests", "0.5", "1000000000"},
        {"seed", "9000000000000001", "9000000000000000"},
        {"fault-503", "1.5", "1"},
        {"rate-limit", "1.5/min", "2/min", true},
        {"rate-limit", "0.5/s", "1/s", true},
    };
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.name << " " << c.refused)
        {
            const auto inJson = [&](const std::string& v) { return c.quoted ? "\"" + v + "\"" : v; };
            const auto flag = refusal({"--" + c.name, c.refused});
            const auto posted = test::rawExchange(
                e.port, e.caFile,
                test::rawRequest("POST", "/_emulator/faults", "{\"" + c.name + "\":" + inJson(c.refused) + "}"));
            BOOST_TEST(posted.status == 400);
            const std::string said(json::parse(posted.body).at("message").as_string());
            // "retry-after must be a whole number from 0 to 86400" and "--retry-after must be ...".
            BOOST_TEST(said.starts_with(c.name + " must be "), said);
            BOOST_TEST(flag.find("--" + std::string(said)) != std::string::npos, flag << " / " << said);

            const auto accepted = test::rawExchange(
                e.port, e.caFile,
                test::rawRequest("POST", "/_emulator/faults", "{\"" + c.name + "\":" + inJson(c.accepted) + "}"));
            BOOST_TEST(accepted.status == 200, accepted.body);
            const json::value now = json::parse(accepted.body).at(c.name); // a copy: the parsed document is a temporary
            if (c.quoted)
                BOOST_TEST(now.as_string() == c.accepted);
            else
                BOOST_TEST(now.to_number<double>() == std::stod(c.accepted));
            test::TempDir edge;
            const auto started = start({"--" + c.name, c.accepted}, edge.path);
            ::kill(started.pid, SIGTERM);
            BOOST_TEST(test::waitExitWithin(started.pid, 20s) == 0);
        }
    }
    ::kill(e.pid, SIGTERM);
    BOOST_TEST(test::waitExitWithin(e.pid, 20s) == 0);
}

// A setting given twice is refused, as a flag and as a key, in the same words: JSON parsers
// keep either one, and which was meant cannot be known.
BOOST_AUTO_TEST_CASE(a_setting_given_twice_is_refused_as_a_flag_and_through_the_admin_endpoint)
{
    test::TempDir dir;
    const auto e = start({}, dir.path);
    for (const std::string name : {"seed", "retry-after-date"}) {
        BOOST_TEST_CONTEXT(name)
        {
            const bool isSwitch = name == "retry-after-date";
            const auto flag = isSwitch ? refusal({"--" + name, "--" + name})
                                       : refusal({"--" + name, "1", "--" + name, "2"});
            const std::string value = isSwitch ? "true" : "2";
            const auto posted = test::rawExchange(
                e.port, e.caFile,
                test::rawRequest("POST", "/_emulator/faults",
                                 "{\"" + name + "\": " + value + ", \"" + name + "\": " + value + "}"));
            BOOST_TEST(posted.status == 400);
            const auto body = json::parse(posted.body);
            const std::string said(body.at("message").as_string());
            BOOST_TEST(said == name + " is given more than once");
            BOOST_TEST(flag.find("--" + said) != std::string::npos, flag << " / " << said);
            BOOST_TEST(body.at_pointer("/details/validationError/fieldViolations/0/field").as_string() == name);
            // Nothing was applied.
            const auto faults = test::rawExchange(e.port, e.caFile, test::rawRequest("GET", "/_emulator/faults", ""));
            BOOST_TEST(json::parse(faults.body).at(name) != json::parse(value));
        }
    }
    // The same name within a value is no duplicate of the top level's.
    const auto nested = test::rawExchange(
        e.port, e.caFile, test::rawRequest("POST", "/_emulator/faults", R"({"seed": 3, "x": {"seed": 4}})"));
    BOOST_TEST(nested.status == 400);
    BOOST_TEST(std::string(json::parse(nested.body).at("message").as_string()).starts_with("unknown setting"));
    ::kill(e.pid, SIGTERM);
    BOOST_TEST(test::waitExitWithin(e.pid, 20s) == 0);
}

BOOST_AUTO_TEST_CASE(a_port_in_use_is_one_clear_line_and_leaves_no_temporary_directory)
{
    wix::inbox::emulator::Emulator running;
    PrivateTmp tmp;
    const auto err = refusal({"--port", std::to_string(running.port())});
    BOOST_TEST(err == "wix-inbox-emulator: cannot listen on 127.0.0.1:" + std::to_string(running.port())
                          + ": Address already in use\n");
    BOOST_TEST(tmp.empty());
}

BOOST_AUTO_TEST_CASE(stop_signals_remove_the_temporary_directory)
{
    for (const int signal : {SIGINT, SIGTERM, SIGHUP}) {
        test::TempDir dir;
        PrivateTmp tmp;
        const auto e = start({}, dir.path);
        BOOST_TEST(!tmp.empty());
        const auto sent = Clock::now();
        ::kill(e.pid, signal);
        BOOST_TEST(test::waitExitWithin(e.pid, 20s) == 0);
        BOOST_TEST((Clock::now() - sent < 1s)); // it stops at once, not after a grace period
        BOOST_TEST(tmp.empty(), signal);
    }
}

// The same options in process: what the constructor throws, or "" if it starts.
template <class Refused = std::runtime_error>
std::string inProcessRefusal(const wix::inbox::emulator::Options& options)
{
    try {
        wix::inbox::emulator::Emulator started(options);
    } catch (const Refused& e) {
        return e.what();
    }
    return "";
}

// A port the resolver would wrap (99999 is 34463), or 0; credentials or a fragment, which
// the delivery would drop: each refused before anything is written, never echoing the URL.
BOOST_AUTO_TEST_CASE(a_webhook_url_that_would_be_delivered_elsewhere_is_refused_at_start)
{
    struct Case {
        std::string url;
        std::string says;
    };
    const std::vector<Case> cases{
        {"http://127.0.0.1:99999/hooks", "the webhook URL's port must be a number from 1 to 65535"},
        {"http://127.0.0.1:0/hooks", "the webhook URL's port must be a number from 1 to 65535"},
        {"https://[::1]:65536/hooks", "the webhook URL's port must be a number from 1 to 65535"},
        {"http://127.0.0.1:-80/hooks", "the webhook URL's port must be a number from 1 to 65535"},
        {"http://hook:s3cret@127.0.0.1:8080/hooks", "must not hold user info"},
        {"http://127.0.0.1:8080/hooks#s3cret", "must not have a fragment"},
    };
    PrivateTmp tmp;
    for (const auto& c : cases) {
        BOOST_TEST_CONTEXT(c.says)
        {
            const auto err = refusal({"--webhook-url", c.url});
            BOOST_TEST(err.starts_with("wix-inbox-emulator: the webhook URL"), err);
            BOOST_TEST(err.find(c.says) != std::string::npos, err);
            BOOST_TEST(err.find("s3cret") == std::string::npos, err);
            wix::inbox::emulator::Options options;
            options.webhookUrl = c.url;
            const auto thrown = inProcessRefusal(options);
            BOOST_TEST(thrown.find(c.says) != std::string::npos, thrown);
        }
    }
    BOOST_TEST(tmp.empty());
}

// A disk that takes the open but not the bytes (/dev/full), a directory that does not
// exist: the emulator must not start with a CA file (or key) that clients cannot read.
BOOST_AUTO_TEST_CASE(a_ca_or_key_file_it_cannot_write_stops_the_start)
{
    PrivateTmp tmp;
    BOOST_TEST(refusal({"--ca-file", "/dev/full"})
               == "wix-inbox-emulator: cannot write the CA file /dev/full: No space left on device\n");
    const auto missing = (tmp.dir.path / "missing" / "ca.pem").string();
    BOOST_TEST(refusal({"--ca-file", missing})
               == "wix-inbox-emulator: cannot write the CA file " + missing + ": No such file or directory\n");
    BOOST_TEST(refusal({"--webhook-url", "http://127.0.0.1:9/hooks", "--webhook-public-key-file", "/dev/full"})
               == "wix-inbox-emulator: cannot write the webhook public key file /dev/full: No space left on device\n");
    BOOST_TEST(tmp.empty()); // the temporary directory made for the CA file is gone too

    const auto nowhere = (tmp.dir.path / "no-such-dir").string();
    BOOST_TEST(refusal({}, {.environment = {"TMPDIR=" + nowhere}})
               == "wix-inbox-emulator: cannot create a temporary directory in " + nowhere
                      + ": No such file or directory\n");

    wix::inbox::emulator::Options options;
    options.caFile = "/dev/full";
    BOOST_TEST(inProcessRefusal(options) == "cannot write the CA file /dev/full: No space left on device");
}

// A bucket of less than one request never admits one: "0/s" would refuse every call
// instead of meaning "no limit" ("off" says that).
BOOST_AUTO_TEST_CASE(a_rate_limit_below_one_request_per_period_is_refused)
{
    test::TempDir dir; // outside the private TMPDIR
    PrivateTmp tmp;
    for (const std::string rate : {"0/s", "0/min", "0.5/s", "-0/s"}) {
        BOOST_TEST_CONTEXT(rate)
        {
            const auto err = refusal({"--rate-limit", rate});
            BOOST_TEST(err.find("--rate-limit must be a rate of at least 1 request per period") != std::string::npos, err);
        }
    }

    const auto e = start({"--rate-limit", "50/s"}, dir.path);
    const auto set = test::rawExchange(e.port, e.caFile, test::rawRequest("POST", "/_emulator/faults", R"({"rate-limit":"0/s"})"));
    BOOST_TEST(set.status == 400);
    BOOST_TEST(set.body.find("at least 1 request per period") != std::string::npos, set.body);
    const auto now = test::rawExchange(e.port, e.caFile, test::rawRequest("GET", "/_emulator/faults"));
    BOOST_TEST(now.body.find(R"("rate-limit":"50/s")") != std::string::npos, now.body); // unchanged
    ::kill(e.pid, SIGTERM);
    BOOST_TEST(test::waitExitWithin(e.pid, 20s) == 0);
    BOOST_TEST(tmp.empty());

    wix::inbox::emulator::Options options;
    options.faults.rateLimit = 0.5;
    BOOST_TEST(inProcessRefusal<std::invalid_argument>(options).find("at least 1 request per period") != std::string::npos);
    wix::inbox::emulator::Emulator running;
    BOOST_CHECK_THROW(running.setFaults(options.faults), std::invalid_argument);
}

// With --webhook-url the start-up line also names the webhooks' public key, written beside
// the CA in the temporary directory and removed with it.
BOOST_AUTO_TEST_CASE(the_start_up_line_names_the_webhook_public_key)
{
    test::TempDir dir, dir2; // outside the private TMPDIR
    PrivateTmp tmp;
    const auto plain = start({}, dir.path);
    BOOST_TEST(plain.webhookKeyFile.empty());
    ::kill(plain.pid, SIGTERM);
    BOOST_TEST(test::waitExitWithin(plain.pid, 20s) == 0);

    const auto e = start({"--webhook-url", "http://127.0.0.1:9/webhooks", "--webhook-resend-scale", "0.001"}, dir2.path);
    BOOST_TEST(test::slurp(e.webhookKeyFile).starts_with("-----BEGIN PUBLIC KEY-----"));
    BOOST_TEST(fs::path(e.webhookKeyFile).parent_path() == fs::path(e.caFile).parent_path());
    ::kill(e.pid, SIGTERM);
    BOOST_TEST(test::waitExitWithin(e.pid, 20s) == 0);
    BOOST_TEST(tmp.empty());
}

// Out of file descriptors, accept() fails at once every time: the emulator must pause
// instead of spinning, and go on serving the connections it has.
BOOST_AUTO_TEST_CASE(out_of_descriptors_it_backs_off_and_serves_its_connections)
{
#ifdef __SANITIZE_ADDRESS__
    // UBSan's vptr check probes memory through a pipe(): in a process out of descriptors it
    // fails and reports every virtual call as invalid. The release build runs this test.
    BOOST_TEST_MESSAGE("skipped under the sanitizers, which need file descriptors themselves");
    return;
#endif
    test::TempDir dir;
    const auto e = start({"--threads", "1"}, dir.path, {.maxOpenFiles = 40});
    net::io_context ioc;
    wix::inbox::ClientOptions o;
    o.baseUrl = e.url;
    o.tls.caFile = e.caFile;
    o.pool.maxConnections = 1;
    wix::inbox::Client client(ioc.get_executor(), o);
    const auto call = [&] {
        return test::run(ioc, client.getOrCreateConversation(wix::inbox::ParticipantId::member(test::guid(1))));
    };
    BOOST_REQUIRE(call().has_value()); // the pooled connection exists before the flood

    std::vector<net::ip::tcp::socket> flood;
    for (int i = 0; i < 80; ++i) {
        flood.emplace_back(ioc);
        flood.back().connect({net::ip::make_address("127.0.0.1"), e.port}); // queued by the kernel
    }
    const double cpuBefore = cpuSeconds(e.pid);
    const auto windowStart = Clock::now();
    // A second in which the emulator serves a few calls over the existing connection and
    // otherwise has only the flood to deal with. (Calls at full speed would measure the
    // cost of serving them, not of the flood.)
    for (int served = 0; served < 20; ++served)
        BOOST_REQUIRE(call().has_value());
    std::this_thread::sleep_until(windowStart + 1s); // the measuring window, not a wait for an event
    const double wall = std::chrono::duration<double>(Clock::now() - windowStart).count();
    const double cpu = cpuSeconds(e.pid) - cpuBefore;
    // Spinning on accept() costs a whole core; serving calls and pausing costs little.
    BOOST_TEST(cpu / wall < 0.5, "cpu " << cpu << " s in " << wall << " s");

    flood.clear(); // descriptors come back once the emulator has seen those connections end
    const auto giveUp = Clock::now() + 30s;
    test::RawResponse stats;
    while ((stats = test::rawExchange(e.port, e.caFile, test::rawRequest("GET", "/_emulator/stats"))).status != 200)
        BOOST_REQUIRE_MESSAGE(Clock::now() < giveUp,
                              "the emulator did not recover: " + stats.error + "; " + test::slurp(dir.path / "stderr"));
    const auto s = json::parse(stats.body).as_object();
    const auto failures = s.at("acceptFailures").to_number<std::uint64_t>();
    BOOST_TEST(failures >= 1u);
    BOOST_TEST(failures <= 20u + static_cast<std::uint64_t>(wall * 10), failures); // pauses of 10 ms to 1 s
    ::kill(e.pid, SIGTERM);
    BOOST_TEST(test::waitExitWithin(e.pid, 20s) == 0);
}

BOOST_AUTO_TEST_CASE(connections_over_the_maximum_are_closed_and_counted)
{
    test::TempDir dir;
    const auto e = start({"--max-connections", "2"}, dir.path);
    net::io_context ioc;
    std::vector<net::ip::tcp::socket> held;
    for (int i = 0; i < 2; ++i) {
        held.emplace_back(ioc);
        held.back().connect({net::ip::make_address("127.0.0.1"), e.port});
    }
    // The third connection is accepted and closed: no answer.
    BOOST_TEST(test::rawExchange(e.port, e.caFile, test::rawRequest("GET", "/_emulator/stats")).status == 0);
    held.clear();
    // Once the held connections are gone (their handshakes fail), it serves again.
    const auto giveUp = Clock::now() + 20s;
    test::RawResponse stats;
    while ((stats = test::rawExchange(e.port, e.caFile, test::rawRequest("GET", "/_emulator/stats"))).status != 200)
        BOOST_REQUIRE(Clock::now() < giveUp);
    BOOST_TEST(json::parse(stats.body).at("connectionsRefused").to_number<std::uint64_t>() >= 1u);
    ::kill(e.pid, SIGTERM);
    BOOST_TEST(test::waitExitWithin(e.pid, 20s) == 0);
}

// --help names what it emulates (both services, not only Conversations), its flags and the
// admin endpoints.
BOOST_AUTO_TEST_CASE(help_lists_the_flags_and_the_admin_endpoints)
{
    test::TempDir dir;
    BOOST_TEST(test::waitExitWithin(test::spawn(WIX_INBOX_EMULATOR, {"--help"}, dir.path), 20s) == 0);
    const auto out = test::slurp(dir.path / "stdout");
    BOOST_TEST(out.starts_with("wix-inbox-emulator: a local HTTPS stand-in for the Wix Inbox v2 API (Conversations "
                               "and Messages)."),
               out);
    BOOST_TEST(out.find("Conversations API") == std::string::npos);
    for (const std::string expected : {"--fault-503", "--rate-limit", "--max-connections", "--seed", "--webhook-url",
                                       "GET  /_emulator/stats", "POST /_emulator/faults", "{\"fault-503\": 0.3",
                                       "POST /_emulator/promote"})
        BOOST_TEST(out.find(expected) != std::string::npos, expected);
}
