// SPDX-License-Identifier: BSL-1.0
// The second step: test your own code against the emulator, started in-process. It speaks
// the service's wire contract over real TLS on loopback, and injects the faults you ask for,
// so your code meets 503s, stalls and throttling in a test, not in production.
//
//   example-test-with-the-emulator        (exit status 0 when every check holds)
//
// Link wix::inbox and wix::inbox_emulator (find_package(wix-inbox)).
#include <wix/inbox.hpp>
#include <wix/inbox/emulator.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <iostream>
#include <string>

namespace net = boost::asio;
namespace inbox = wix::inbox;

// The code under test: resolves members to conversations, and must ride out a flaky service.
net::awaitable<int> resolveAll(inbox::Client& client, int members)
{
    int resolved = 0;
    for (int i = 0; i < members; ++i) {
        const std::string id = "00000000-0000-4000-8000-" + std::string(11, '0') + std::to_string(i % 10);
        if (auto r = co_await client.getOrCreateConversation(inbox::ParticipantId::member(id)))
            ++resolved;
        else
            std::cerr << "member " << i << ": " << r.error().describe() << "\n";
    }
    co_return resolved;
}

int main()
{
    // A third of the requests get 503 (with Retry-After: 0, so the test is quick).
    inbox::emulator::Options options;
    options.faults.status503 = 0.3;
    options.faults.retryAfterSeconds = 0;
    inbox::emulator::Emulator emulator(options); // listens on a free port until destroyed

    inbox::ClientOptions clientOptions;
    clientOptions.baseUrl = emulator.url();
    clientOptions.tls.caFile = emulator.caFile(); // verification stays on: trust its CA

    net::io_context ioc;
    int resolved = 0;
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> {
            inbox::Client client(co_await net::this_coro::executor, clientOptions);
            resolved = co_await resolveAll(client, 20);
            client.close(); // nothing left to do: let run() return
        },
        [](std::exception_ptr failure) {
            if (failure)
                std::rethrow_exception(failure);
        });
    ioc.run();

    // What the service saw: every request, the faults it injected, conversations made.
    const auto stats = emulator.stats();
    const auto injected = stats.faults.count("fault-503") ? stats.faults.at("fault-503") : 0;
    std::cout << resolved << " of 20 members resolved; " << stats.requests << " requests, " << injected
              << " answered 503, " << stats.conversations << " conversations\n";
    const bool ok = resolved == 20 && injected > 0 && stats.conversations == 10;
    return ok ? 0 : 1;
}
