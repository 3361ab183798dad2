// SPDX-License-Identifier: BSL-1.0
#include "call_observer.hpp"

#include "observe.hpp"
#include "retry.hpp"

#include <string>

namespace wix::inbox::detail {
namespace {

std::string tenantOf(const Credentials& credentials)
{
    if (const auto* key = std::get_if<ApiKey>(&credentials))
        return !key->siteId.empty() ? "site:" + key->siteId : !key->accountId.empty() ? "account:" + key->accountId : "";
    if (const auto* app = std::get_if<OAuthApp>(&credentials))
        return "instance:" + app->instanceId;
    return "";
}

} // namespace

std::string_view errorType(const Error& error) noexcept
{
    if (error.code.category() == make_error_code(Errc::timeout).category())
        return toString(static_cast<Errc>(error.code.value()));
    return "_OTHER";
}

CallObserver::CallObserver(std::shared_ptr<Observer> observer, const Credentials& credentials, const Origin& origin)
    : observer_(std::move(observer))
    , wantsHeaders_(observer_ && observer_->wantsHeaders())
    , tenant_(tenantOf(credentials))
    , host_(origin.host)
    , port_(static_cast<std::uint16_t>(std::stoul(origin.port)))
{
}

CallAttributes CallObserver::attributes(const Request& request) const
{
    return {request.operation, request.method, request.urlTemplate, host_, port_, tenant_};
}

void CallObserver::attemptStart(const Request& request, int resendCount, std::string_view head) const
{
    const auto headers = headerFields(head);
    notify(*observer_, &Observer::onAttemptStart, AttemptStart{attributes(request), resendCount, headers});
}

void CallObserver::attemptEnd(const Request& request, int resendCount, const Exchange& result, Clock::duration took,
                              std::optional<std::chrono::milliseconds> retryIn, bool throttled,
                              std::string_view head) const
{
    AttemptEnd event;
    event.call = attributes(request);
    event.resendCount = resendCount;
    event.statusCode = result.status();
    std::string status;
    if (result.error) {
        event.errorType = errorType(*result.error);
    } else if (event.statusCode >= 400) {
        status = std::to_string(event.statusCode);
        event.errorType = status;
    }
    if (!result.error) {
        event.requestId = result.response.kept[0]; // X-Wix-Request-Id: the Client keeps it first
        event.retryAfter = result.response.retryAfter;
    }
    event.duration = took;
    event.retryIn = retryIn;
    event.throttled = throttled;
    const auto requestHeaders = headerFields(head);
    const auto responseHeaders = headerFields(result.response.headers);
    event.requestHeaders = requestHeaders;
    event.responseHeaders = responseHeaders;
    notify(*observer_, &Observer::onAttemptEnd, event);
}

void CallObserver::throttle(const Request& request, const Exchange& result) const
{
    std::optional<std::chrono::milliseconds> wait;
    if (!result.response.retryAfter.empty())
        wait = parseRetryAfter(result.response.retryAfter, std::chrono::system_clock::now());
    notify(*observer_, &Observer::onThrottle, ThrottleEvent{attributes(request), result.status(), wait});
}

void CallObserver::retry(const Request& request, int resendCount, std::chrono::milliseconds delay,
                         std::string_view reason) const
{
    notify(*observer_, &Observer::onRetry, RetryEvent{attributes(request), resendCount, delay, reason});
}

void CallObserver::rateLimitWait(const Request& request, Clock::duration waited, bool gotTurn) const
{
    notify(*observer_, &Observer::onRateLimitWait, RateLimitWaitEvent{attributes(request), waited, gotTurn});
}

void CallObserver::tokenRequest(Clock::duration took, const Error* failure) const
{
    notify(*observer_, &Observer::onTokenRequest,
           TokenRequestEvent{tenant_, took, failure == nullptr, failure ? errorType(*failure) : std::string_view()});
}

void CallObserver::connectionReused() const
{
    ConnectionEvent event;
    event.kind = ConnectionEvent::Kind::reused;
    event.serverAddress = host_;
    event.serverPort = port_;
    event.tenant = tenant_;
    notify(*observer_, &Observer::onConnection, event);
}

void CallObserver::cacheLookup(Took took) const
{
    notify(*observer_, &Observer::onCacheLookup, CacheLookupEvent{tenant_, took == Took::hit, took == Took::joined});
}

} // namespace wix::inbox::detail
