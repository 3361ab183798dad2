// SPDX-License-Identifier: BSL-1.0
// The emulator's webhooks, delivered as Wix delivers them: each event an HTTP POST whose whole
// body is a JWT signed RS256 with the emulator's own RSA key (made at start); a delivery not
// answered 200 within 1,250 ms is resent after 1 min, 10 min, 1 h, 2 h x3, 4 h x3, 8 h x2 and
// 12 h (scaled by a factor for tests), each resend signed afresh with the same event ID.
// Deliveries run concurrently, so events may arrive out of order, as from the service.
#pragma once

#include "emulator/webhook_events.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace wix::inbox::emulator {

class WebhookSender {
public:
    /// Makes the RSA key. Throws std::runtime_error for a URL that is not
    /// http(s)://host[:port][/path][?query], with a port in 1-65535 and no user info or fragment.
    /// `countsChanged` is called after each change of counts(), on any thread.
    WebhookSender(boost::asio::any_io_executor executor, const std::string& url, double resendScale,
                  std::function<void()> countsChanged);
    ~WebhookSender();

    /// The key webhooks are verified with ("-----BEGIN PUBLIC KEY-----").
    const std::string& publicKeyPem() const { return publicPem_; }

    /// Starts delivering the event's webhook. Thread-safe; never blocks.
    void send(const WebhookEvent& event);

    /// The JWT of one event body (an envelope, JSON): what each attempt POSTs.
    std::string sign(const std::string& envelope) const;

    struct Counts {
        std::uint64_t delivered = 0;      ///< events answered 200
        std::uint64_t failedAttempts = 0; ///< attempts not answered 200 in time
        std::uint64_t abandoned = 0;      ///< events whose 13 attempts all failed
        std::uint64_t pending = 0;        ///< events still being delivered
    };
    Counts counts() const;
    void resetCounts();

    /// The resend delays of Wix's schedule, unscaled.
    static const std::vector<std::chrono::seconds> schedule;

    class Key;
    struct Target;

private:
    boost::asio::awaitable<void> deliver(std::string envelope);
    boost::asio::awaitable<bool> attempt(const std::string& body);

    boost::asio::any_io_executor executor_;
    std::unique_ptr<Target> target_;
    double resendScale_;
    std::unique_ptr<Key> key_;
    std::string publicPem_;
    std::atomic<std::uint64_t> delivered_{0}, failedAttempts_{0}, abandoned_{0}, pending_{0};
    std::function<void()> countsChanged_;
};

} // namespace wix::inbox::emulator
