// SPDX-License-Identifier: BSL-1.0
// A plain-HTTP webhook receiver for the tests: on loopback, on its own thread, it answers the
// n-th POST as scripted (a status, or no answer at all) and keeps every body it got.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace test {

class WebhookReceiver {
public:
    /// Status of each request in turn; 0: read it and never answer. Past the list: 200.
    explicit WebhookReceiver(std::vector<int> answers = {});
    ~WebhookReceiver();
    std::string url() const; ///< http://127.0.0.1:PORT/webhooks
    /// The bodies received so far, once there are at least `n` (waits up to `limit`).
    std::vector<std::string> bodies(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(30)) const;
    /// The Host headers of the requests received so far, in the order of their bodies.
    std::vector<std::string> hosts() const;

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace test
