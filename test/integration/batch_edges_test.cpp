// SPDX-License-Identifier: BSL-1.0
// The edges of a batch's promises, tried as users and attackers do: two runs on one output,
// --retry-failed after lost answers, torn, edited, deleted and planted files, signals, and a
// conversation merged while a line is in flight. The CLI runs as a child process against an
// in-process emulator over TLS; what the service stored is counted over REST.
#define BOOST_TEST_MODULE batch_edges
#include <boost/test/unit_test.hpp>

#include "process.hpp"
#include "support.hpp"

#include <wix/inbox.hpp>
#include <wix/inbox/emulator.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

using wix::inbox::emulator::Emulator;
namespace json = boost::json;
namespace fs = std::filesystem;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

using test::slurp;
using test::TempDir;
using test::waitExit;

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// A job's files in one folder; each run's stdout and stderr in a folder of its own, so runs
// that overlap do not mix them.
struct Job {
    TempDir dir;
    fs::path in() const { return dir.path / "in.ndjson"; }
    fs::path out() const { return dir.path / "out.ndjson"; }
    fs::path journal() const { return dir.path / "out.ndjson.wix-inbox-journal"; }
    fs::path state() const { return dir.path / "out.ndjson.wix-inbox-state"; }
    fs::path logs(const std::string& run) const
    {
        fs::create_directories(dir.path / run);
        return dir.path / run;
    }
    std::vector<std::string> args(const Emulator& e, std::vector<std::string> more = {}) const
    {
        return std::vector<std::string>{"--base-url", e.url(), "--ca-file", e.caFile(), "batch", "--input", in().string(),
                                        "--output", out().string()} + more;
    }
};

pid_t spawnCli(const std::vector<std::string>& args, const fs::path& logs)
{
    return test::spawn(WIX_INBOX_CLI, args, logs);
}

int runCli(const std::vector<std::string>& args, const fs::path& logs)
{
    return test::waitExitWithin(spawnCli(args, logs), 120s);
}

// Waits for a condition another process brings about, polling; fails the test after `limit`.
template <class Condition>
void waitFor(Condition condition, const std::string& what, std::chrono::seconds limit = 60s)
{
    const auto giveUp = Clock::now() + limit;
    while (!condition()) {
        BOOST_REQUIRE_MESSAGE(Clock::now() < giveUp, "timed out waiting for " << what);
        std::this_thread::sleep_for(2ms);
    }
}

std::size_t lineCount(const fs::path& p)
{
    std::ifstream in(p);
    return static_cast<std::size_t>(std::count(std::istreambuf_iterator<char>(in), {}, '\n'));
}

std::vector<json::object> readLines(const fs::path& p)
{
    std::vector<json::object> out;
    std::istringstream in(slurp(p));
    for (std::string line; std::getline(in, line);)
        out.push_back(json::parse(line).as_object());
    return out;
}

wix::inbox::ParticipantId memberOf(int i)
{
    return wix::inbox::ParticipantId::member(test::guid(static_cast<unsigned>(i)));
}

// Creates member i's conversation for i in [1, n]; their IDs.
std::vector<std::string> conversations(const Emulator& emu, int n)
{
    net::io_context ioc;
    return test::run(ioc, [&]() -> net::awaitable<std::vector<std::string>> {
        wix::inbox::Client client(ioc.get_executor(), test::optionsFor(emu));
        std::vector<std::string> ids;
        for (int i = 1; i <= n; ++i) {
            auto c = co_await client.getOrCreateConversation(memberOf(i));
            BOOST_REQUIRE(c.has_value());
            ids.push_back(c->conversation.id);
        }
        co_return ids;
    }());
}

// Sends to conversation IDs: lines that need no resolution, so faults strike sends and listings only.
void writeSendLines(const fs::path& in, const std::vector<std::string>& ids)
{
    std::ofstream file(in);
    for (std::size_t i = 0; i < ids.size(); ++i)
        file << R"({"conversationId":")" << ids[i] << R"(","text":"line )" << i + 1 << "\"}\n";
}

// Sends to members 1..n.
void writeMemberSendLines(const fs::path& in, int n)
{
    std::ofstream file(in);
    for (int i = 1; i <= n; ++i)
        file << R"({"memberId":")" << test::guid(static_cast<unsigned>(i)) << R"(","text":"line )" << i << "\"}\n";
}

// Every message the service holds for members 1..n, listed over REST: how often each text is there.
std::map<std::string, int> storedTexts(const Emulator& emu, int n)
{
    std::vector<wix::inbox::ParticipantId> participants;
    for (int i = 1; i <= n; ++i)
        participants.push_back(memberOf(i));
    return test::storedTexts(emu, participants);
}

// Each of "line 1" .. "line n" stored exactly once, and nothing else.
void exactlyOnce(const Emulator& emu, int n)
{
    const auto copies = storedTexts(emu, n);
    BOOST_TEST(copies.size() == static_cast<std::size_t>(n));
    for (int i = 1; i <= n; ++i) {
        const auto it = copies.find("line " + std::to_string(i));
        BOOST_TEST((it == copies.end() ? 0 : it->second) == 1, "line " << i);
    }
}

void allOk(const fs::path& out, std::size_t n)
{
    const auto lines = readLines(out);
    BOOST_TEST(lines.size() == n);
    for (std::size_t i = 0; i < lines.size(); ++i)
        BOOST_TEST((lines[i].at("line").as_int64() == static_cast<std::int64_t>(i + 1) && lines[i].at("ok").as_bool()),
                   json::serialize(lines[i]));
}

// A first run whose every send is stored but never answered, and whose reconciliations
// cannot list: each line ends failed, with its intent in the journal and its message stored.
struct LostAnswers {
    static constexpr int lines = 5;
    Emulator emu;
    Job job;
    LostAnswers()
    {
        writeSendLines(job.in(), conversations(emu, lines));
        wix::inbox::emulator::Faults lost;
        lost.lostResponse = 1.0;
        emu.setFaults(lost);
        const int status = runCli(job.args(emu, {"--line-timeout", "1s"}), job.logs("first"));
        BOOST_REQUIRE_MESSAGE(status == 2, status << ": " << slurp(job.logs("first") / "stderr"));
        BOOST_REQUIRE(emu.stats().messages == static_cast<std::uint64_t>(lines));
        for (const auto& line : readLines(job.out()))
            BOOST_REQUIRE(!line.at("ok").as_bool());
        emu.setFaults({});
        // A call cut at its line's timeout may leave a request in a socket that the emulator
        // reads after the run exited: the tests count requests from when those are served.
        waitFor([&] { return emu.stats().connectionsOpen == 0; }, "the first run's connections to close", 10s);
    }
};

} // namespace

// Two runs on one output (a cron job that overlaps itself, a replaced pod still running):
// every form of a second run is refused at once, naming the first one's PID; the lock
// dies with its holder, so a kill -9 leaves nothing to clean.
BOOST_AUTO_TEST_CASE(a_second_run_on_an_output_is_refused_while_the_first_holds_it)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = 200ms; // the first run lasts
    Emulator emu(eo);
    Job job;
    constexpr int lines = 60;
    writeMemberSendLines(job.in(), lines);
    const pid_t first = spawnCli(job.args(emu, {"--concurrency", "2"}), job.logs("first"));
    waitFor([&] { return fs::exists(job.state()) && fs::file_size(job.state()) > 0; }, "the first run's state file");
    const auto requests = emu.stats().byRoute["sendMessage"];
    for (const std::vector<std::string>& how : {std::vector<std::string>{}, {"--resume"}, {"--overwrite"},
                                                {"--retry-failed"}}) {
        BOOST_TEST(runCli(job.args(emu, how), job.logs("second")) == 1);
        const auto err = slurp(job.logs("second") / "stderr");
        BOOST_TEST(err.find("another run is writing this output (PID " + std::to_string(first) + " holds")
                       != std::string::npos, err);
    }
    BOOST_TEST(waitExit(::kill(first, SIGKILL) == 0 ? first : -1) == 128 + SIGKILL);
    BOOST_TEST(emu.stats().byRoute["sendMessage"] >= requests); // the second runs sent nothing of their own
    emu.setFaults({});
    BOOST_TEST(runCli(job.args(emu, {"--resume"}), job.logs("resumed")) == 0, slurp(job.logs("resumed") / "stderr"));
    allOk(job.out(), lines);
    exactlyOnce(emu, lines);
}

// --retry-failed goes through the journal as --resume does: a send whose answer was lost is
// found by reconciliation, not sent again.
BOOST_FIXTURE_TEST_CASE(retry_failed_reconciles_sends_whose_answers_were_lost, LostAnswers)
{
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("retry")) == 0, slurp(job.logs("retry") / "stderr"));
    BOOST_TEST(emu.stats().messages == static_cast<std::uint64_t>(lines)); // none sent twice
    BOOST_TEST(emu.stats().byRoute["sendMessage"] == static_cast<std::uint64_t>(lines));
    allOk(job.out(), lines);
    const auto err = slurp(job.logs("retry") / "stderr");
    BOOST_TEST(err.find("found 5 messages already sent") != std::string::npos, err);
}

// A journal whose last record was torn (a kill or a full disk mid-write): the torn bytes are
// cut off before anything is appended, and the line they name is reconciled, not re-sent.
BOOST_FIXTURE_TEST_CASE(a_torn_journal_tail_is_cut_and_its_line_reconciled, LostAnswers)
{
    auto text = slurp(job.journal());
    BOOST_REQUIRE(text.size() > 2 && text.back() == '\n');
    const auto lastStart = text.rfind('\n', text.size() - 2) + 1;
    const auto torn = text.find("\"conversationId\"", lastStart) + 20; // the line number survives, the rest is cut
    BOOST_REQUIRE(torn < text.size());
    fs::resize_file(job.journal(), torn);
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("retry")) == 0, slurp(job.logs("retry") / "stderr"));
    BOOST_TEST(emu.stats().messages == static_cast<std::uint64_t>(lines));
    allOk(job.out(), lines);
    // Every record whole and self-checking: nothing was appended to the torn one.
    std::istringstream records(slurp(job.journal()));
    const std::regex checked(R"(\{.*\}\t[0-9a-f]{16})");
    int count = 0;
    for (std::string record; std::getline(records, record); ++count)
        BOOST_TEST(std::regex_match(record, checked), record);
    BOOST_TEST(count >= 1 + 2 * lines - 1); // the header, intents, and the messages found
    BOOST_TEST(slurp(job.journal()).back() == '\n');
}

// The journal is the only record of what was sent: without it (deleted, emptied, another
// job's) a run that could duplicate is refused, with what to do next.
BOOST_FIXTURE_TEST_CASE(a_missing_emptied_or_foreign_journal_is_refused, LostAnswers)
{
    const auto kept = job.dir.path / "journal.kept";
    fs::rename(job.journal(), kept);
    const auto requests = emu.stats().requests;
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("missing")) == 1);
    BOOST_TEST(slurp(job.logs("missing") / "stderr").find("is missing: the messages this job sent cannot be checked")
                   != std::string::npos, slurp(job.logs("missing") / "stderr"));
    std::ofstream(job.journal()).close();
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("empty")) == 1);
    BOOST_TEST(slurp(job.logs("empty") / "stderr").find("is empty or damaged") != std::string::npos,
               slurp(job.logs("empty") / "stderr"));
    {
        auto text = slurp(kept);
        text[text.find("\"journal\":\"") + 11] ^= 1; // another ID: the record no longer checks
        std::ofstream(job.journal()) << text;
    }
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("damaged")) == 1);
    BOOST_TEST(slurp(job.logs("damaged") / "stderr").find("damaged at byte 0") != std::string::npos,
               slurp(job.logs("damaged") / "stderr"));
    BOOST_TEST(emu.stats().requests == requests); // nothing was called
    fs::rename(kept, job.journal());
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("restored")) == 0);
    BOOST_TEST(emu.stats().messages == static_cast<std::uint64_t>(lines));
}

// An input edited between runs: refused before anything is called, for --retry-failed and
// for --resume, whichever line changed.
BOOST_FIXTURE_TEST_CASE(an_edited_input_is_refused_before_anything_is_sent, LostAnswers)
{
    const auto original = slurp(job.in());
    auto edited = original;
    edited.replace(edited.find("line 3"), 6, "line 9");
    std::ofstream(job.in()) << edited;
    const auto requests = emu.stats().requests;
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("edited")) == 1);
    BOOST_TEST(slurp(job.logs("edited") / "stderr").find("it has other lines or other text") != std::string::npos,
               slurp(job.logs("edited") / "stderr"));
    BOOST_TEST(emu.stats().requests == requests);
    std::ofstream(job.in()) << original;
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("restored")) == 0);
    BOOST_TEST(emu.stats().messages == static_cast<std::uint64_t>(lines));
}

// Files the batch reads back must be its own: a link, a FIFO or a huge file in their place
// is refused at once (never followed, never read whole), and a link planted where it
// makes a file is never written through.
BOOST_FIXTURE_TEST_CASE(planted_links_fifos_and_huge_files_are_refused, LostAnswers)
{
    const auto kept = job.dir.path / "journal.kept";
    fs::rename(job.journal(), kept);
    fs::create_symlink("/dev/zero", job.journal());
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("zero")) == 1);
    BOOST_TEST(slurp(job.logs("zero") / "stderr").find("is a symbolic link") != std::string::npos,
               slurp(job.logs("zero") / "stderr"));
    fs::remove(job.journal());
    BOOST_REQUIRE(::mkfifo(job.journal().c_str(), 0600) == 0);
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("fifo")) == 1);
    BOOST_TEST(slurp(job.logs("fifo") / "stderr").find("not a regular file") != std::string::npos,
               slurp(job.logs("fifo") / "stderr"));
    fs::remove(job.journal());
    fs::rename(kept, job.journal());

    const auto state = slurp(job.state());
    std::ofstream(job.state(), std::ios::app) << std::string(std::size_t{1} << 20, ' ');
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("huge")) == 1);
    BOOST_TEST(slurp(job.logs("huge") / "stderr").find("is larger than") != std::string::npos,
               slurp(job.logs("huge") / "stderr"));
    std::ofstream(job.state()) << state;

    // A link planted where the pass makes its temporary output: removed, its target untouched.
    const auto victim = job.dir.path / "victim";
    std::ofstream(victim) << "keep me";
    fs::create_symlink(victim, job.dir.path / "out.ndjson.wix-inbox-retry");
    BOOST_TEST(runCli(job.args(emu, {"--retry-failed"}), job.logs("retry")) == 0, slurp(job.logs("retry") / "stderr"));
    BOOST_TEST(slurp(victim) == "keep me");
    BOOST_TEST(emu.stats().messages == static_cast<std::uint64_t>(lines));

    // A link in place of the state file: refused, its target untouched.
    const auto other = Job{};
    std::ofstream(other.in()) << R"({"memberId":")" << test::guid(1) << "\"}\n";
    fs::create_symlink(victim, other.state());
    BOOST_TEST(runCli(other.args(emu), other.logs("run")) == 1);
    BOOST_TEST(slurp(other.logs("run") / "stderr").find("is a symbolic link") != std::string::npos,
               slurp(other.logs("run") / "stderr"));
    BOOST_TEST(slurp(victim) == "keep me");
}

// SIGINT, SIGTERM and SIGHUP each end a send batch gracefully, with the summary and the
// shell's exit status for the signal (130, 143, 129), resumable; an input edited before
// the resume is refused; every message is stored once in the end.
BOOST_AUTO_TEST_CASE(signals_end_a_send_batch_gracefully_and_resumably)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = 20ms;
    eo.faults.latencyMax = 60ms;
    Emulator emu(eo);
    Job job;
    constexpr int lines = 400;
    writeMemberSendLines(job.in(), lines);
    int run = 0;
    for (const int signal : {SIGINT, SIGTERM, SIGHUP, SIGINT, SIGINT}) {
        const auto logs = job.logs("run" + std::to_string(run));
        const auto before = fs::exists(job.out()) ? lineCount(job.out()) : 0;
        const pid_t pid = spawnCli(job.args(emu, run++ == 0 ? std::vector<std::string>{"--concurrency", "8"}
                                                            : std::vector<std::string>{"--concurrency", "8", "--resume"}),
                                   logs);
        waitFor([&] { return fs::exists(job.out()) && lineCount(job.out()) >= before + 8; }, "lines written");
        ::kill(pid, signal);
        BOOST_TEST(waitExit(pid) == 128 + signal, ::strsignal(signal));
        const auto err = slurp(logs / "stderr");
        BOOST_TEST(err.find("wix-inbox: batch interrupted") != std::string::npos, err);
        BOOST_TEST(err.find("co_await") == std::string::npos, err);
    }
    const auto original = slurp(job.in());
    auto edited = original;
    edited.replace(edited.rfind("line "), 5, "LINE ");
    std::ofstream(job.in()) << edited;
    const auto requests = emu.stats().requests;
    BOOST_TEST(runCli(job.args(emu, {"--resume"}), job.logs("edited")) == 1);
    BOOST_TEST(emu.stats().requests == requests);
    std::ofstream(job.in()) << original;
    emu.setFaults({});
    BOOST_TEST(runCli(job.args(emu, {"--resume"}), job.logs("last")) == 0, slurp(job.logs("last") / "stderr"));
    allOk(job.out(), lines);
    exactlyOnce(emu, lines);
}

// A signal while the job is still being set up (here: its 64 MB input fingerprinted for the
// output's record) takes the graceful path too: nothing is sent, the summary says so, and the
// exit status is the shell's for the signal. It used to kill the process outright.
BOOST_AUTO_TEST_CASE(a_signal_during_the_set_up_stops_the_batch_before_any_line)
{
    Job job;
    {
        std::string lines;
        for (int i = 0; i < 1'000'000; ++i)
            lines += R"({"memberId":"00000000-0000-4000-8000-000000000001","text":"hello"})" "\n";
        std::ofstream(job.in(), std::ios::binary) << lines;
    }
    const auto logs = job.logs("run");
    const pid_t pid = spawnCli({"--emulator", "batch", "--input", job.in().string(), "--output", job.out().string()},
                               logs);
    // Printed once the emulator has started: after the batch has taken the signals over.
    waitFor([&] { return slurp(logs / "stderr").find("using the embedded emulator") != std::string::npos; },
            "the emulator's start");
    ::kill(pid, SIGTERM);
    BOOST_TEST(waitExit(pid) == 128 + SIGTERM);
    const auto err = slurp(logs / "stderr");
    BOOST_TEST(err.find("wix-inbox: batch interrupted: 0 lines") != std::string::npos, err);
    BOOST_TEST(lineCount(job.out()) == 0u);
}

// A participant's conversation merged into another while the line is in flight (its send
// gets 404 CONVERSATION_NOT_FOUND): the line resolves the participant again and sends once.
BOOST_AUTO_TEST_CASE(a_conversation_merged_mid_line_is_resolved_again)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = 400ms; // answers come after the request took effect
    Emulator emu;
    constexpr int lines = 20;
    const auto targets = conversations(emu, lines); // members' conversations: the merges' targets
    emu.setFaults(eo.faults);
    Job job;
    {
        std::ofstream file(job.in());
        for (int i = 1; i <= lines; ++i)
            file << R"({"anonymousVisitorId":")" << test::guid(1000 + static_cast<unsigned>(i)) << R"(","text":"line )"
                 << i << "\"}\n";
    }
    const auto made = emu.stats().byRoute["getOrCreateConversation"];
    const pid_t pid = spawnCli(job.args(emu, {"--concurrency", std::to_string(lines)}), job.logs("run"));
    // Every visitor's conversation is made; their answers (and so the sends) are 400 ms away.
    waitFor([&] { return emu.stats().byRoute["getOrCreateConversation"] >= made + lines; }, "the lines' conversations");
    for (int i = 1; i <= lines; ++i) {
        const auto answer = emu.admin("POST", "/_emulator/promote",
                                      R"({"from":{"anonymousVisitorId":")" + test::guid(1000 + static_cast<unsigned>(i))
                                          + R"("},"to":{"memberId":")" + test::guid(static_cast<unsigned>(i)) + "\"}}");
        BOOST_REQUIRE_MESSAGE(answer.status == 200, answer.body);
    }
    BOOST_TEST(waitExit(pid) == 0, slurp(job.logs("run") / "stderr"));
    BOOST_TEST(emu.stats().byStatus[404] >= 1); // some sends did go to a merged conversation
    allOk(job.out(), lines);
    emu.setFaults({});
    exactlyOnce(emu, lines); // in the members' conversations, which the visitors' were merged into
}

// One output file under two names (a symlink, a hard link): the second run is refused too,
// and every message is sent once.
BOOST_AUTO_TEST_CASE(an_output_under_another_name_is_refused_while_a_run_holds_it)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = 200ms;
    Emulator emu(eo);
    Job job;
    constexpr int lines = 40;
    writeMemberSendLines(job.in(), lines);
    const auto symlinked = job.dir.path / "other-name.ndjson";
    const auto hardLinked = job.dir.path / "third-name.ndjson";
    const pid_t first = spawnCli(job.args(emu, {"--concurrency", "2"}), job.logs("first"));
    waitFor([&] { return fs::exists(job.state()) && fs::file_size(job.state()) > 0; }, "the first run's state file");
    fs::create_symlink(job.out(), symlinked);
    fs::create_hard_link(job.out(), hardLinked);
    for (const auto& other : {symlinked, hardLinked}) {
        const auto args = std::vector<std::string>{"--base-url", emu.url(), "--ca-file", emu.caFile(), "batch", "--input",
                                                   job.in().string(), "--output", other.string(), "--overwrite"};
        BOOST_TEST(runCli(args, job.logs("second")) == 1);
        const auto err = slurp(job.logs("second") / "stderr");
        BOOST_TEST(err.find("another run is writing this output (PID " + std::to_string(first)) != std::string::npos, err);
        BOOST_TEST(!fs::exists(other.string() + ".wix-inbox-state")); // a refused run leaves nothing behind
    }
    BOOST_TEST(waitExit(first) == 0, slurp(job.logs("first") / "stderr"));
    allOk(job.out(), lines);
    emu.setFaults({});
    exactlyOnce(emu, lines);
}

// A journal left behind by another job (its state lost, its output moved away) is not taken
// for this job's: its messages would be reported as sent by this run.
BOOST_FIXTURE_TEST_CASE(a_journal_the_state_does_not_name_is_refused, LostAnswers)
{
    fs::remove(job.out());
    fs::remove(job.state());
    const auto requests = emu.stats().requests;
    BOOST_TEST(runCli(job.args(emu, {"--resume"}), job.logs("adopt")) == 1);
    BOOST_TEST(slurp(job.logs("adopt") / "stderr").find("names no journal") != std::string::npos,
               slurp(job.logs("adopt") / "stderr"));
    BOOST_TEST(emu.stats().requests == requests);
}

// Lines appended to the input while a run reads it belong to the next job: the run takes the
// input as it was when it started, and its record stays true.
BOOST_AUTO_TEST_CASE(lines_appended_to_the_input_during_a_run_are_left_for_the_next)
{
    wix::inbox::emulator::Options eo;
    eo.faults.latencyMin = eo.faults.latencyMax = 20ms;
    Emulator emu(eo);
    Job job;
    constexpr int lines = 100;
    writeMemberSendLines(job.in(), lines);
    const pid_t pid = spawnCli(job.args(emu, {"--concurrency", "4"}), job.logs("run"));
    waitFor([&] { return fs::exists(job.out()) && lineCount(job.out()) >= 4; }, "lines written");
    std::ofstream(job.in(), std::ios::app) << R"({"memberId":")" << test::guid(lines + 1) << R"(","text":"line )"
                                           << lines + 1 << "\"}\n";
    BOOST_TEST(waitExit(pid) == 0, slurp(job.logs("run") / "stderr"));
    allOk(job.out(), lines);
    emu.setFaults({});
    exactlyOnce(emu, lines);
    BOOST_TEST(storedTexts(emu, lines + 1).count("line 101") == 0u);
}

// --summary-file never names the input, the output or a file kept beside it.
BOOST_AUTO_TEST_CASE(a_summary_file_that_names_the_input_or_output_is_refused)
{
    Emulator emu;
    Job job;
    writeMemberSendLines(job.in(), 3);
    const auto input = slurp(job.in());
    for (const auto& clash : {job.in(), job.out(), job.journal()}) {
        BOOST_TEST(runCli(job.args(emu, {"--summary-file", clash.string()}), job.logs("run")) == 1);
        BOOST_TEST(slurp(job.logs("run") / "stderr").find("--summary-file names") != std::string::npos,
                   slurp(job.logs("run") / "stderr"));
    }
    BOOST_TEST(slurp(job.in()) == input);
    BOOST_TEST(emu.stats().requests == 0u);
}
