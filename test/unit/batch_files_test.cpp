// SPDX-License-Identifier: BSL-1.0
// The batch's rooms without a network: the state file and its lock, the self-checking send
// journal, the input's identity, the scheduling decisions and the output's order, each on its own.
#define BOOST_TEST_MODULE batch_files
#include <boost/test/unit_test.hpp>

#include "process.hpp"

#include "cli/batch_output.hpp"
#include "cli/in_order_output.hpp"
#include "cli/job_state.hpp"
#include "cli/line_pacing.hpp"
#include "cli/line_source.hpp"
#include "cli/send_journal.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
namespace cli = wix::inbox::cli;
using namespace std::chrono_literals;

namespace {

std::string slurp(const fs::path& p)
{
    return test::slurp(p);
}

void write(const fs::path& p, const std::string& text)
{
    std::ofstream(p, std::ios::binary) << text;
}

wix::inbox::Message message(const std::string& id)
{
    auto m = wix::inbox::decodeMessage(R"({"id":")" + id + R"(","content":{"basic":{"items":[{"text":"hi"}]}},)"
                                       R"("visibility":"BUSINESS_AND_PARTICIPANT","direction":"BUSINESS_TO_PARTICIPANT"})");
    BOOST_REQUIRE(m.has_value());
    return *m;
}

cli::SendJournal resumed(const fs::path& path, const std::string& expectedId = {})
{
    return cli::SendJournal::resume(path.string(), expectedId, [](std::uint64_t) { return true; }, {});
}

cli::JobState stateOf(std::string input, std::uint64_t lines, std::uint64_t fingerprint)
{
    cli::JobState s;
    s.input = std::move(input);
    s.lines = lines;
    s.fingerprint = fingerprint;
    return s;
}

cli::Command commandThat(bool idempotent, bool reconciles)
{
    cli::Command c{};
    c.idempotent = idempotent;
    c.reconciles = reconciles;
    return c;
}

template <class F>
std::string errorOf(F f)
{
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

BOOST_AUTO_TEST_CASE(the_state_file_is_locked_for_one_run_and_names_its_holder)
{
    test::TempDir dir;
    const auto path = (dir.path / "out.wix-inbox-state").string();
    cli::JobStateFile first(path);
    BOOST_TEST((first.read().index() == 0)); // nothing recorded yet
    auto state = stateOf("in.ndjson", 7, 0x1234);
    state.shard = "1/4";
    state.whole = cli::InputIdentity{9, 0x99};
    state.journal = "abc";
    first.write(state);
    const auto busy = errorOf([&] { cli::JobStateFile second(path); });
    BOOST_TEST(busy.find("PID " + std::to_string(::getpid())) != std::string::npos, busy);

    const auto read = std::get<cli::JobState>(first.read());
    BOOST_TEST(read.input == "in.ndjson");
    BOOST_TEST(read.lines == 7u);
    BOOST_TEST(read.fingerprint == 0x1234u);
    BOOST_TEST(read.shard == "1/4");
    BOOST_TEST((read.whole == cli::InputIdentity{9, 0x99}));
    BOOST_TEST(read.journal == "abc");

    // A shorter record in place of a longer one: the longer one's tail does not linger.
    first.write(stateOf("x", 1, 2));
    BOOST_TEST(std::get<cli::JobState>(first.read()).input == "x");
    const auto text = slurp(path);
    BOOST_TEST(std::count(text.begin(), text.end(), '\n') == 1);
}

BOOST_AUTO_TEST_CASE(a_damaged_state_record_is_not_read_as_another)
{
    test::TempDir dir;
    const auto path = dir.path / "state";
    {
        cli::JobStateFile file(path.string());
        file.write(stateOf("in", 3, 4));
    }
    auto text = slurp(path);
    text[text.find("\"lines\":3") + 8] = '9'; // an edit: the record's fingerprint no longer holds
    write(path, text);
    cli::JobStateFile file(path.string());
    BOOST_TEST(std::get<std::string>(file.read()).find("not a wix-inbox job state file") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_refused_run_leaves_no_state_file_behind)
{
    test::TempDir dir;
    const auto path = dir.path / "state";
    {
        cli::JobStateFile made(path.string());
        made.removeIfUnused();
    }
    BOOST_TEST(!fs::exists(path));
    {
        cli::JobStateFile made(path.string());
        made.write(cli::JobState{});
        made.removeIfUnused(); // it holds a record now
    }
    BOOST_TEST(fs::exists(path));
}

BOOST_AUTO_TEST_CASE(the_journal_reads_back_what_it_wrote_and_names_itself_in_the_state_first)
{
    test::TempDir dir;
    const auto path = dir.path / "journal";
    std::string named;
    {
        auto journal = cli::SendJournal::fresh(path.string(), [&](const std::string& id) {
            named = id;
            BOOST_TEST((!fs::exists(path) || slurp(path).find("\"line\"") == std::string::npos)); // before any intent
        });
        journal.intent(1, "c1", "2026-12-05T10:00:00Z", 0xaa);
        journal.intent(2, "c2", "2026-12-05T10:00:01Z", 0xbb);
        journal.sent(1, "c1", message("m1"));
        BOOST_TEST(journal.id() == named);
        BOOST_TEST(!journal.unclaimed("m1"));
    }
    BOOST_TEST(named.size() == 32u);
    auto journal = resumed(path, named);
    BOOST_REQUIRE(journal.find(1) && journal.find(1)->message);
    BOOST_TEST(journal.find(2)->intentAt == "2026-12-05T10:00:01Z");
    BOOST_TEST(journal.find(2)->input == 0xbbu);
    BOOST_TEST(!journal.find(2)->message);
    BOOST_TEST(!journal.unclaimed("m1"));
    BOOST_TEST(journal.unclaimed("m2"));
    journal.forget(1);
    BOOST_TEST(!journal.find(1));
}

BOOST_AUTO_TEST_CASE(a_torn_tail_is_cut_and_its_line_is_perhaps_sent)
{
    test::TempDir dir;
    const auto path = dir.path / "journal";
    std::string id;
    {
        auto journal = cli::SendJournal::fresh(path.string(), [&](const std::string& made) { id = made; });
        journal.intent(1, "c1", "2026-12-05T10:00:00Z", 1);
    }
    const auto whole = fs::file_size(path);
    std::ofstream(path, std::ios::app) << R"({"line":5,"conversationId":"c)"; // a kill mid-write
    {
        auto journal = resumed(path, id);
        BOOST_TEST(fs::file_size(path) == whole); // cut before anything is appended
        BOOST_REQUIRE(journal.find(5));
        BOOST_TEST(!journal.find(5)->intentAt.empty()); // treated as an intent: reconciled before a send
        journal.intent(6, "c6", "2026-12-05T10:00:02Z", 6);
    }
    const auto text = slurp(path);
    BOOST_TEST(text.find("\"line\":5") == std::string::npos);
    BOOST_TEST(resumed(path, id).find(6) != nullptr); // the record after the cut is whole
}

BOOST_AUTO_TEST_CASE(a_journal_damaged_inside_missing_or_foreign_is_refused)
{
    test::TempDir dir;
    const auto path = dir.path / "journal";
    std::string id;
    {
        auto journal = cli::SendJournal::fresh(path.string(), [&](const std::string& made) { id = made; });
        journal.intent(1, "c1", "2026-12-05T10:00:00Z", 1);
        journal.intent(2, "c2", "2026-12-05T10:00:00Z", 2);
    }
    const auto good = slurp(path);
    BOOST_TEST(errorOf([&] { resumed(path, "0123"); }).find("is another job's") != std::string::npos);
    auto damaged = good;
    damaged[damaged.find("\"c1\"") + 2] = 'X'; // a record in the middle no longer checks
    write(path, damaged);
    BOOST_TEST(errorOf([&] { resumed(path, id); }).find("is damaged at byte") != std::string::npos);
    fs::remove(path);
    BOOST_TEST(errorOf([&] { resumed(path, id); }).find("is missing") != std::string::npos);
    write(path, "");
    BOOST_TEST(errorOf([&] { resumed(path, id); }).find("is empty or damaged") != std::string::npos);
    // Sends the state does not name: another job's journal, or one whose state was lost.
    write(path, good);
    BOOST_TEST(errorOf([&] { resumed(path); }).find("the output's state names no journal") != std::string::npos);
    // A record longer than any record: refused without reading the rest of the file.
    write(path, good.substr(0, good.find('\n') + 1) + std::string(std::size_t{5} << 20, 'x'));
    BOOST_TEST(errorOf([&] { resumed(path, id); }).find("has a record longer than") != std::string::npos);
    write(path, good.substr(0, 10)); // torn in its first record, and no state names it: no journal
    resumed(path);
    BOOST_TEST(!fs::exists(path));
}

BOOST_AUTO_TEST_CASE(claimed_message_ids_stay_claimed_past_the_sorted_merge)
{
    test::TempDir dir;
    auto journal = cli::SendJournal::fresh({}, {}); // in memory
    for (int i = 0; i < 5000; ++i)
        journal.sent(static_cast<std::uint64_t>(i + 1), "c", message("id-" + std::to_string(i)));
    for (int i = 0; i < 5000; ++i)
        BOOST_TEST_REQUIRE(!journal.unclaimed("id-" + std::to_string(i)));
    BOOST_TEST(journal.unclaimed("id-5000"));
}

BOOST_AUTO_TEST_CASE(the_whole_input_identity_matches_the_lines_as_read)
{
    test::TempDir dir;
    for (const std::string& text : {std::string("a\nb\n"), std::string("a\nb"), std::string("\xEF\xBB\xBF" "a\n\nc"),
                                   std::string(""), std::string(70000, 'x') + "\nshort"}) {
        write(dir.path / "in", text);
        boost::asio::io_context ioc;
        cli::LineSource source(ioc, (dir.path / "in").string());
        const auto whole = source.wholeIdentity();
        BOOST_REQUIRE(whole.has_value());
        cli::InputIdentity read;
        boost::asio::co_spawn(ioc, [&]() -> boost::asio::awaitable<void> {
            while (auto line = co_await source.next()) {
                ++read.lines;
                read.fingerprint = line->fingerprint;
            }
        }, boost::asio::detached);
        ioc.run();
        if (read.lines == 0)
            read.fingerprint = cli::Fingerprint().value();
        BOOST_TEST(whole->lines == read.lines, text.size());
        BOOST_TEST(whole->fingerprint == read.fingerprint, text.size());
    }
}

BOOST_AUTO_TEST_CASE(lines_outlive_throttling_merges_and_unknown_outcomes_where_it_is_safe)
{
    const auto get = commandThat(true, false);
    const auto send = commandThat(false, true);
    cli::BatchRequest toParticipant, toConversation;
    toParticipant.participant = wix::inbox::ParticipantId::member("00000000-0000-4000-8000-000000000001");
    toConversation.conversationId = "00000000-0000-4000-8000-000000000002";
    auto status = [](int http, std::string code = {}) {
        auto e = wix::inbox::makeError(wix::inbox::Errc::httpStatus, "x");
        e.httpStatus = http;
        e.applicationCode = std::move(code);
        return e;
    };
    BOOST_TEST(cli::worthAnotherCall(send, toConversation, status(429)));
    BOOST_TEST(cli::worthAnotherCall(get, toConversation, status(429)));
    BOOST_TEST(cli::worthAnotherCall(send, toConversation, wix::inbox::makeError(wix::inbox::Errc::outcomeUnknown, "x")));
    BOOST_TEST(cli::worthAnotherCall(send, toParticipant, status(404, "CONVERSATION_NOT_FOUND")));
    BOOST_TEST(!cli::worthAnotherCall(send, toConversation, status(404, "CONVERSATION_NOT_FOUND"))); // its ID is gone
    BOOST_TEST(!cli::worthAnotherCall(get, toParticipant, status(404, "CONVERSATION_NOT_FOUND")));
    BOOST_TEST(!cli::worthAnotherCall(send, toParticipant, status(400)));
}

BOOST_AUTO_TEST_CASE(pacing_halves_while_calls_fail_and_gives_up_after_silence)
{
    const auto t0 = cli::LinePacing::Clock::time_point{} + 1h;
    cli::LinePacing pacing(64, 5min, t0);
    BOOST_TEST(pacing.allowed() == 64u);
    BOOST_TEST((pacing.pauseBefore(0, 0.0) == 125ms && pacing.pauseBefore(0, 0.999) < 250ms));
    BOOST_TEST(pacing.pauseBefore(9, 0.0) == 500ms); // 250 ms doubling to 1 s while others succeed
    auto now = t0;
    for (int i = 0; i < 40; ++i) // nearly every call fails: one cut per loss event
        BOOST_TEST(!pacing.onTransientFailure(now, now += 1ms));
    BOOST_TEST(pacing.allowed() < 64u);
    BOOST_TEST(pacing.pauseBefore(9, 0.0) == 8000ms); // 1 s doubling to 16 s while the service fails
    for (int i = 0; i < 40; ++i)
        pacing.onTransientFailure(now, now += 1ms);
    BOOST_TEST(pacing.probing());
    BOOST_TEST(pacing.onTransientFailure(now, t0 + 5min).has_value()); // nothing answered for 5 min
    cli::LinePacing recovering(8, 5min, t0);
    for (int i = 0; i < 40; ++i)
        recovering.onTransientFailure(now, now += 1ms);
    const auto low = recovering.allowed();
    for (int i = 0; i < 200; ++i)
        recovering.onAnswer(true, now);
    BOOST_TEST(recovering.allowed() > low);
    BOOST_TEST(recovering.allowed() <= 8u);
}

// Lines finish in any order and are written in input order; another shard's lines settle in
// their turn and write nothing; the record's line and fingerprint follow the last line written.
BOOST_AUTO_TEST_CASE(output_lines_are_written_in_input_order_whatever_order_they_finish_in)
{
    test::TempDir dir;
    const auto path = dir.path / "out.ndjson";
    {
        cli::OutputSink sink(path.string(), cli::OutputSink::Open::replace);
        cli::InOrderOutput output(sink);
        output.startAfter(2, 0x22); // lines 1 and 2 were settled by an earlier run
        output.complete(5, "five", true, 0x55);
        output.complete(4, "", true, 0x44, false); // another shard's
        BOOST_TEST(output.next() == 3u);
        BOOST_TEST(output.lastWritten() == 2u);
        BOOST_TEST(output.fingerprint() == 0x22u);
        output.complete(3, "three", false, 0x33);
        BOOST_TEST(output.next() == 6u);
        BOOST_TEST(output.lastWritten() == 5u);
        BOOST_TEST(output.fingerprint() == 0x55u);
        BOOST_TEST(output.ok() == 1u);
        BOOST_TEST(output.failed() == 1u);
        sink.flush();
    }
    BOOST_TEST(slurp(path) == "three\nfive\n");
}
