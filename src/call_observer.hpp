// SPDX-License-Identifier: BSL-1.0
// A Client's side of its Observer (observer.hpp): builds each event from the call path's
// own state and reports it, so the call path itself says only "report this, if observed".
// Every method is for a Client that has an observer (check with the bool first).
#pragma once

#include <wix/inbox/auth.hpp>
#include <wix/inbox/observer.hpp>

#include "endpoint.hpp"
#include "single_flight.hpp"
#include "transport.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wix::inbox::detail {

class CallObserver {
public:
    CallObserver(std::shared_ptr<Observer> observer, const Credentials& credentials, const Origin& origin);

    explicit operator bool() const noexcept { return observer_ != nullptr; }
    const std::shared_ptr<Observer>& observer() const noexcept { return observer_; }
    /// The observer asked for headers: pass the serialized request head to the attempt events.
    bool wantsHeaders() const noexcept { return wantsHeaders_; }

    void attemptStart(const Request& request, int resendCount, std::string_view head) const;
    void attemptEnd(const Request& request, int resendCount, const Exchange& result, Clock::duration took,
                    std::optional<std::chrono::milliseconds> retryIn, bool throttled, std::string_view head) const;
    /// Reports a response the call path took for a request to slow down.
    void throttle(const Request& request, const Exchange& result) const;
    void retry(const Request& request, int resendCount, std::chrono::milliseconds delay, std::string_view reason) const;
    void rateLimitWait(const Request& request, Clock::duration waited, bool gotTurn) const;
    void tokenRequest(Clock::duration took, const Error* failure) const;
    void connectionReused() const;
    void cacheLookup(Took took) const;

private:
    CallAttributes attributes(const Request& request) const;

    std::shared_ptr<Observer> observer_;
    bool wantsHeaders_ = false;
    std::string tenant_; // "site:ID", "account:ID", "instance:ID" or empty
    std::string host_;
    std::uint16_t port_ = 0;
};

/// The error.type of OpenTelemetry for an error: its Errc name, or "_OTHER".
std::string_view errorType(const Error& error) noexcept;

} // namespace wix::inbox::detail
