// SPDX-License-Identifier: BSL-1.0
// Shared helpers of the integration tests: run a coroutine to completion, and build
// client options that trust a given emulator.
#pragma once

#include <wix/inbox/emulator.hpp>
#include <wix/inbox/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <stdexcept>
#include <optional>
#include <string>
#include <vector>

namespace test {

namespace net = boost::asio;

/// Runs `work` on `ioc` until it completes (other work, such as pool timers, may remain).
template <class T>
T run(net::io_context& ioc, net::awaitable<T> work)
{
    std::optional<T> out;
    std::exception_ptr failure;
    bool done = false;
    net::co_spawn(ioc, std::move(work), [&](std::exception_ptr e, T value) {
        failure = e;
        if (!e)
            out.emplace(std::move(value));
        done = true;
    });
    ioc.restart();
    while (!done && ioc.run_one() > 0)
        ;
    if (failure)
        std::rethrow_exception(failure);
    if (!done)
        throw std::runtime_error("the io_context ran out of work before the coroutine completed");
    return std::move(*out);
}

inline wix::inbox::ClientOptions optionsFor(const wix::inbox::emulator::Emulator& e)
{
    wix::inbox::ClientOptions o;
    o.baseUrl = e.url();
    o.tls.caFile = e.caFile();
    return o;
}

/// The n-th test GUID: distinct n give distinct participants.
inline std::string guid(unsigned long long n)
{
    char out[37];
    std::snprintf(out, sizeof out, "00000000-0000-4000-8000-%012llx", n & 0xffffffffffffull);
    return out;
}

using GetOrCreateResult = wix::inbox::Result<wix::inbox::GetOrCreateConversationResponse>;

/// Starts `calls` getOrCreateConversation calls at once, for member guid(memberOf(i)),
/// and waits for all of them. Returns their results in call order.
inline net::awaitable<std::vector<GetOrCreateResult>>
getOrCreateAll(wix::inbox::Client& client, int calls, const std::function<unsigned long long(int)>& memberOf)
{
    const auto ex = co_await net::this_coro::executor;
    std::vector<std::optional<GetOrCreateResult>> results(static_cast<std::size_t>(calls));
    int done = 0;
    net::steady_timer allDone(ex, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < calls; ++i)
        net::co_spawn(ex, client.getOrCreateConversation(wix::inbox::ParticipantId::member(guid(memberOf(i)))),
                      [&, i](std::exception_ptr, GetOrCreateResult r) {
                          results[static_cast<std::size_t>(i)].emplace(std::move(r));
                          if (++done == calls)
                              allDone.cancel();
                      });
    if (calls > 0)
        co_await allDone.async_wait(net::as_tuple(net::use_awaitable));
    std::vector<GetOrCreateResult> out;
    for (auto& r : results)
        out.push_back(std::move(*r));
    co_return out;
}

/// Every basic text message stored in the conversations of `participants`, listed over REST:
/// how many times each text is there.
inline std::map<std::string, int> storedTexts(const wix::inbox::emulator::Emulator& e,
                                              const std::vector<wix::inbox::ParticipantId>& participants)
{
    std::map<std::string, int> copies;
    net::io_context ioc;
    run(ioc, [&]() -> net::awaitable<bool> {
        wix::inbox::Client client(ioc.get_executor(), optionsFor(e));
        for (const auto& participant : participants) {
            auto c = co_await client.getOrCreateConversation(participant);
            if (!c)
                throw std::runtime_error("cannot resolve a participant: " + c.error().describe());
            auto pager = client.messages(c->conversation.id, wix::inbox::Visibility::business);
            while (!pager.done()) {
                auto page = co_await pager.next();
                if (!page)
                    throw std::runtime_error("cannot list messages: " + page.error().describe());
                for (const auto& m : page->messages)
                    ++copies[std::get<wix::inbox::TextItem>(std::get<wix::inbox::BasicContent>(m.content).items[0]).text];
            }
        }
        co_return true;
    }());
    return copies;
}

} // namespace test
