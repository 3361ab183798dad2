// SPDX-License-Identifier: BSL-1.0
// One Client shared by thousands of coroutines on an io_context run by 4 threads.
// Built and run under ThreadSanitizer in CI.
#define BOOST_TEST_MODULE thread_safety
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <wix/inbox.hpp>

#include <atomic>
#include <condition_variable>
#include <thread>

using namespace wix::inbox;
using test::guid;
using wix::inbox::emulator::Emulator;
namespace net = boost::asio;

namespace {

struct Outcome {
    int ok = 0;
    int failed = 0;
    int timedOut = 0;
    std::string otherFailure; // one failure that was not a timeout
    std::uint64_t connectionsOpened = 0;
};

// Runs `calls` calls, at most `concurrency` in flight, from 4 threads.
Outcome hammer(ClientOptions options, int calls, int concurrency)
{
    net::io_context ioc;
    auto client = std::make_unique<Client>(ioc.get_executor(), options);
    std::atomic<int> ok{0}, failed{0}, timedOut{0}, next{0};
    std::string otherFailure;
    std::mutex mutex;
    std::condition_variable finished;
    int done = 0;

    std::function<void()> launch = [&] {
        const int i = next++;
        if (i >= calls)
            return;
        auto call = (i % 3 == 0) ? client->getOrCreateConversation(ParticipantId::contact(guid(i % 500)))
                                 : client->getOrCreateConversation(ParticipantId::member(guid(i % 500)));
        net::co_spawn(ioc, std::move(call), [&](std::exception_ptr, Result<GetOrCreateConversationResponse> r) {
            ++(r ? ok : failed);
            if (!r && r.error().code == make_error_code(Errc::timeout))
                ++timedOut;
            if (!r && r.error().code != make_error_code(Errc::timeout)) {
                std::lock_guard lock(mutex);
                otherFailure = r.error().describe();
            }
            launch();
            std::lock_guard lock(mutex);
            if (++done == calls)
                finished.notify_all();
        });
    };
    for (int i = 0; i < concurrency; ++i)
        launch();

    auto work = net::make_work_guard(ioc);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] { ioc.run(); });
    {
        std::unique_lock lock(mutex);
        finished.wait(lock, [&] { return done == calls; });
    }
    const auto stats = client->stats();
    client.reset();
    work.reset();
    for (auto& t : threads)
        t.join();
    return {ok.load(), failed.load(), timedOut.load(), otherFailure, stats.pool.connectionsOpened};
}

} // namespace

BOOST_AUTO_TEST_CASE(thousands_of_calls_from_four_threads)
{
    Emulator emu;
    ClientOptions o = test::optionsFor(emu);
    o.pool.maxConnections = 16;
    const auto outcome = hammer(o, 4000, 400);
    BOOST_TEST(outcome.ok == 4000);
    BOOST_TEST(outcome.failed == 0);
    BOOST_TEST(outcome.connectionsOpened <= 16u);
    BOOST_TEST(emu.stats().conversations == 1000u);
}

BOOST_AUTO_TEST_CASE(retries_and_stale_connections_from_four_threads)
{
    emulator::Options eo;
    eo.faults.status503 = 0.2;
    eo.faults.retryAfterSeconds = 0;
    eo.faults.closeBeforeResponse = 0.05;
    Emulator emu(eo);
    ClientOptions o = test::optionsFor(emu);
    o.pool.maxConnections = 8;
    o.retry.maxAttempts = 20;
    o.retryBudget.maxTokens = 0; // measure the retry loop, not the throttle
    o.backoff = {std::chrono::milliseconds(1), 2.0, std::chrono::milliseconds(20)};
    const auto outcome = hammer(o, 2000, 200);
    BOOST_TEST(outcome.ok == 2000);
    BOOST_TEST(outcome.failed == 0);
}

// Deadlines that expire while responses are on their way: the connection's watchdog fires
// on one thread while the call's coroutine reads on another.
BOOST_AUTO_TEST_CASE(deadlines_expiring_mid_exchange_from_four_threads)
{
    emulator::Options eo;
    eo.faults.latencyMin = std::chrono::milliseconds(0);
    eo.faults.latencyMax = std::chrono::milliseconds(300);
    Emulator emu(eo);
    ClientOptions o = test::optionsFor(emu);
    o.pool.maxConnections = 32;
    o.timeout = std::chrono::milliseconds(150);
    o.retry.maxAttempts = 1;
    const auto outcome = hammer(o, 400, 32);
    BOOST_TEST(outcome.ok + outcome.failed == 400);
    BOOST_TEST(outcome.ok > 0);
    BOOST_TEST(outcome.timedOut > 0);
    BOOST_TEST(outcome.timedOut == outcome.failed, outcome.otherFailure); // only the deadline fails them
}
