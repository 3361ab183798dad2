// Shared helpers of the integration tests: run a coroutine to completion, and build
// client options that trust a given emulator.
#pragma once

#include "emulator/emulator.hpp"

#include <wix/inbox/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

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

} // namespace test
