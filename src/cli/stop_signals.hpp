// SPDX-License-Identifier: BSL-1.0
// The batch's stop signals: SIGINT (Ctrl-C), SIGTERM (Kubernetes, systemd) and SIGHUP (a
// closed terminal). Watched from before the job is set up (the emulator, the client, the
// output's plan), so that a signal at any moment reaches the job's graceful path instead of
// killing the process: one that comes before the job runs waits for it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <functional>

namespace wix::inbox::cli {

class StopSignals {
public:
    /// Takes the signals over at once; until watch(), they are queued.
    explicit StopSignals(boost::asio::io_context& ioc);

    /// From the io_context's thread, `stop(signal)` at the first signal (queued ones
    /// included), `abort(signal)` at each one after it, until cancel().
    void watch(std::function<void(int)> stop, std::function<void(int)> abort);
    void cancel();

private:
    void wait();

    boost::asio::signal_set signals_;
    std::function<void(int)> stop_, abort_;
    bool stopped_ = false;
};

} // namespace wix::inbox::cli
