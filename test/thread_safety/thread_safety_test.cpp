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
    std::uint64_t connectionsOpened = 0;
};

// Runs `calls` calls, at most `concurrency` in flight, from 4 threads.
Outcome hammer(ClientOptions options, int calls, int concurrency)
{
    net::io_context ioc;
    auto client = std::make_unique<Client>(ioc.get_executor(), options);
    std::atomic<int> ok{0}, failed{0}, next{0};
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
    return {ok.load(), failed.load(), stats.pool.connectionsOpened};
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
