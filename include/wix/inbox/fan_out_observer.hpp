// SPDX-License-Identifier: BSL-1.0
// wix::inbox::FanOutObserver: one Observer (observer.hpp) that tells every event to several,
// e.g. a LogObserver and a PrometheusObserver on the same Client.
//
//     options.observer = std::make_shared<wix::inbox::FanOutObserver>(
//         std::vector<std::shared_ptr<wix::inbox::Observer>>{logs, metrics});
//     options.observer = wix::inbox::alsoTell(options.observer, metrics); // one more, maybe the first
//
// Each event goes to the observers in their order, on the thread that reports it. One that
// throws has its exception dropped and the next ones are still told. It asks for headers when
// any of them does (the others get them as well, and may ignore them). Thread-safe if they are;
// immutable once made.
#pragma once

#include <wix/inbox/observer.hpp>

#include <memory>
#include <vector>

namespace wix::inbox {

class FanOutObserver : public Observer {
public:
    /// Null observers are skipped.
    explicit FanOutObserver(std::vector<std::shared_ptr<Observer>> observers);

    bool wantsHeaders() const override;
    void onAttemptStart(const AttemptStart& event) override;
    void onAttemptEnd(const AttemptEnd& event) override;
    void onRetry(const RetryEvent& event) override;
    void onThrottle(const ThrottleEvent& event) override;
    void onRateLimitWait(const RateLimitWaitEvent& event) override;
    void onTokenRequest(const TokenRequestEvent& event) override;
    void onConnection(const ConnectionEvent& event) override;
    void onCacheLookup(const CacheLookupEvent& event) override;

private:
    template <class Event>
    void tell(void (Observer::*method)(const Event&), const Event& event);

    std::vector<std::shared_ptr<Observer>> observers_;
};

/// `observer` and then `another` as one observer: the one that is not null alone (no fan-out
/// to pay for on every event), or a FanOutObserver of both.
std::shared_ptr<Observer> alsoTell(std::shared_ptr<Observer> observer, std::shared_ptr<Observer> another);

} // namespace wix::inbox
