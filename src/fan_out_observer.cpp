// SPDX-License-Identifier: BSL-1.0
#include <wix/inbox/fan_out_observer.hpp>

#include "observe.hpp"

#include <algorithm>

namespace wix::inbox {

FanOutObserver::FanOutObserver(std::vector<std::shared_ptr<Observer>> observers) : observers_(std::move(observers))
{
    std::erase(observers_, nullptr);
}

std::shared_ptr<Observer> alsoTell(std::shared_ptr<Observer> observer, std::shared_ptr<Observer> another)
{
    if (!observer || !another)
        return observer ? observer : another;
    return std::make_shared<FanOutObserver>(std::vector<std::shared_ptr<Observer>>{std::move(observer), std::move(another)});
}

bool FanOutObserver::wantsHeaders() const
{
    return std::any_of(observers_.begin(), observers_.end(), [](const auto& o) { return o->wantsHeaders(); });
}

template <class Event>
void FanOutObserver::tell(void (Observer::*method)(const Event&), const Event& event)
{
    for (const auto& observer : observers_)
        detail::notify(*observer, method, event); // one observer's exception must not starve the next
}

void FanOutObserver::onAttemptStart(const AttemptStart& event) { tell(&Observer::onAttemptStart, event); }
void FanOutObserver::onAttemptEnd(const AttemptEnd& event) { tell(&Observer::onAttemptEnd, event); }
void FanOutObserver::onRetry(const RetryEvent& event) { tell(&Observer::onRetry, event); }
void FanOutObserver::onThrottle(const ThrottleEvent& event) { tell(&Observer::onThrottle, event); }
void FanOutObserver::onRateLimitWait(const RateLimitWaitEvent& event) { tell(&Observer::onRateLimitWait, event); }
void FanOutObserver::onTokenRequest(const TokenRequestEvent& event) { tell(&Observer::onTokenRequest, event); }
void FanOutObserver::onConnection(const ConnectionEvent& event) { tell(&Observer::onConnection, event); }
void FanOutObserver::onCacheLookup(const CacheLookupEvent& event) { tell(&Observer::onCacheLookup, event); }

} // namespace wix::inbox
