// SPDX-License-Identifier: BSL-1.0
// Single flight: concurrent callers that need the same thing (an OAuth token, a participant's
// conversation) share one request. The first caller to miss runs the work; the others wait
// for its outcome and share it, good or bad. Thread-safe.
#pragma once

#include <wix/inbox/error.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace wix::inbox::detail {

/// How a caller got its value.
enum class Took { hit, led, joined };

template <class Value>
class SingleFlight {
public:
    /// `waitingFor` completes the error text of a waiter whose deadline expires
    /// ("deadline expired waiting for <waitingFor>").
    explicit SingleFlight(std::string waitingFor) : waitingFor_(std::move(waitingFor)) {}

    /// The value for `key`: `lookup()` (an optional<Value>) if it has one, else the outcome of
    /// the flight for `key`, which this caller runs (`work()`, an awaitable<Result<Value>>) if
    /// none is in the air. lookup() runs under this object's lock: work that stores its value
    /// where lookup() finds it before returning leaves no gap in which a second flight starts.
    ///
    /// A leader's own ending (cancelled, its deadline expired) is not shared: its waiters go
    /// round again and one of them leads. A waiter's deadline or cancellation ends its wait
    /// (Errc::timeout, Errc::cancelled) without touching the flight. Callers must have set
    /// `throw_if_cancelled(false)`.
    template <class Lookup, class Work>
    boost::asio::awaitable<Result<Value>> run(std::string key, std::chrono::steady_clock::time_point deadline,
                                              Lookup lookup, Work work, Took* took = nullptr)
    {
        namespace net = boost::asio;
        for (;;) {
            std::shared_ptr<Flight> flight;
            bool leader = false;
            {
                std::lock_guard lock(mutex_);
                if (std::optional<Value> found = lookup()) {
                    if (took)
                        *took = Took::hit;
                    co_return std::move(*found);
                }
                auto& slot = flights_[key];
                if (!slot) {
                    slot = std::make_shared<Flight>();
                    leader = true;
                    ++led_;
                } else {
                    ++joined_;
                }
                flight = slot;
            }
            if (leader) {
                if (took)
                    *took = Took::led;
                std::optional<Result<Value>> outcome;
                try {
                    outcome.emplace(co_await work());
                } catch (...) {
                    land(key, flight, std::nullopt);
                    throw;
                }
                land(key, flight, outcome);
                co_return std::move(*outcome);
            }

            if (took)
                *took = Took::joined;
            net::steady_timer timer(co_await net::this_coro::executor);
            timer.expires_at(deadline);
            auto [ec] = co_await waitFor(*flight, timer, net::as_tuple(net::use_awaitable));
            const auto state = co_await net::this_coro::cancellation_state;
            const bool cancelled = state.cancelled() != net::cancellation_type::none;
            std::lock_guard lock(mutex_);
            std::erase(flight->waiters, &timer);
            if (cancelled)
                co_return makeError(Errc::cancelled, "cancelled while waiting for " + waitingFor_);
            if (flight->outcome)
                co_return *flight->outcome;
            if (!ec || std::chrono::steady_clock::now() >= deadline)
                co_return makeError(Errc::timeout, "deadline expired waiting for " + waitingFor_);
            // The leader's own call ended (cancelled, or out of time): go round again.
        }
    }

    std::uint64_t led() const
    {
        std::lock_guard lock(mutex_);
        return led_;
    }
    std::uint64_t joined() const
    {
        std::lock_guard lock(mutex_);
        return joined_;
    }

private:
    struct Flight {
        bool landed = false;
        std::optional<Result<Value>> outcome; // empty when the leader's ending was its own
        std::vector<boost::asio::steady_timer*> waiters;
    };

    static bool ownEnding(const Result<Value>& r)
    {
        return !r && (r.error().code == make_error_code(Errc::cancelled) || r.error().code == make_error_code(Errc::timeout));
    }

    void land(const std::string& key, const std::shared_ptr<Flight>& flight, const std::optional<Result<Value>>& outcome)
    {
        std::lock_guard lock(mutex_);
        flight->landed = true;
        if (outcome && !ownEnding(*outcome))
            flight->outcome = *outcome;
        if (auto it = flights_.find(key); it != flights_.end() && it->second == flight)
            flights_.erase(it);
        for (auto* timer : flight->waiters)
            timer->cancel(); // wakes it: the wait was started under this lock
    }

    // Waits on `timer` until the flight lands (which cancels it) or the deadline.
    template <class Token>
    auto waitFor(Flight& flight, boost::asio::steady_timer& timer, Token&& token)
    {
        namespace net = boost::asio;
        return net::async_initiate<Token, void(boost::system::error_code)>(
            [this, &flight, &timer](auto handler) {
                std::lock_guard lock(mutex_);
                if (flight.landed) { // it landed before we got here
                    const auto ex = net::get_associated_executor(handler, timer.get_executor());
                    net::post(ex, [h = std::move(handler)]() mutable { std::move(h)(net::error::operation_aborted); });
                    return;
                }
                flight.waiters.push_back(&timer);
                timer.async_wait(std::move(handler));
            },
            token);
    }

    std::string waitingFor_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
    std::uint64_t led_ = 0;
    std::uint64_t joined_ = 0;
};

} // namespace wix::inbox::detail
