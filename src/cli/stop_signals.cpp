// SPDX-License-Identifier: BSL-1.0
#include "stop_signals.hpp"

#include <csignal>
#include <utility>

namespace wix::inbox::cli {

StopSignals::StopSignals(boost::asio::io_context& ioc) : signals_(ioc, SIGINT, SIGTERM, SIGHUP) {}

void StopSignals::watch(std::function<void(int)> stop, std::function<void(int)> abort)
{
    stop_ = std::move(stop);
    abort_ = std::move(abort);
    wait();
}

void StopSignals::cancel()
{
    signals_.cancel();
}

void StopSignals::wait()
{
    signals_.async_wait([this](boost::system::error_code ec, int signal) {
        if (ec)
            return;
        if (std::exchange(stopped_, true))
            abort_(signal);
        else
            stop_(signal);
        wait();
    });
}

} // namespace wix::inbox::cli
