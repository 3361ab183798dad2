// SPDX-License-Identifier: BSL-1.0
// The call path: every call of every endpoint runs here, through one loop over one per-call
// state: credentials -> rate limiter -> pool -> exchange -> retry policy -> decode. It owns
// what calls share (authenticator, limiter, retry budget, pool, sleepers, counters) and
// knows no endpoint's meaning: a layer above may re-aim a finished call through a hook.
#pragma once

#include <wix/inbox/options.hpp>
#include <wix/inbox/stats.hpp>

#include "auth.hpp"
#include "call_observer.hpp"
#include "endpoint.hpp"
#include "pool.hpp"
#include "rate_limiter.hpp"
#include "retry.hpp"
#include "transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

namespace wix::inbox::detail {

/// Checks the options the call path uses (all but the conversation cache's); throws
/// Exception(invalidArgument).
void validateCallOptions(const ClientOptions& options);

/// The error of a call ended by its caller, or by the Client being closed or destroyed.
Error interrupted(Errc code, int attempts);

/// The awaitable of a call rejected before any I/O.
template <class T>
boost::asio::awaitable<Result<T>> rejected(Error error)
{
    co_return error;
}

/// What one call carries from attempt to attempt.
struct CallState {
    CallState(Request request, const CallOptions& options)
        : request(std::move(request))
        , timeout(options.timeout)
        , retryPolicy(options.retry)
        , idempotency(options.idempotency)
    {
    }

    Request request;
    // The caller's options that are read when the call starts; their headers are already in
    // the request, and a copy of them would live in the frame of every call in flight.
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<RetryPolicy> retryPolicy;
    Idempotency idempotency = Idempotency::byMethod;
    Clock::time_point deadline{};
    RetryState retry;
    std::string lastTransient; ///< the latest retried failure, for the final error
    std::string authHeaders;   ///< the current attempt's, unless they are static (CallPath::authOf)
    Exchange result;           ///< the current attempt's
    /// Why the call ended, once it ended in an error (a pointer: the frame of every call in
    /// flight holds this state, and a call's Result is made only as it returns).
    std::unique_ptr<Error> failure;
    std::uint64_t rateEpoch = 0;
    bool refreshedAfter401 = false;
    bool reaimed = false;
    /// The current attempt's answer asked to slow down (CallPath::failed decides it): the one
    /// verdict the counters, the limiter, the retry policy and the observer all hear.
    bool throttled = false;
};

/// The hook of a call nobody re-aims: the loop leaves its step out.
struct NoReaim {};

class CallPath : public std::enable_shared_from_this<CallPath> {
public:
    /// `options` checked by validateCallOptions(). Throws Exception for an unusable base URL,
    /// proxy or credentials.
    CallPath(boost::asio::any_io_executor executor, ClientOptions options);
    /// A tenant's path over `parent`'s transport and pool, with its own credentials.
    CallPath(const CallPath& parent, Credentials credentials);

    /// Writes a call of `endpoint` into `request`: checks and copies the input (an error
    /// sends nothing).
    template <class In, class Out>
    std::optional<Error> encode(const Endpoint<In, Out>& endpoint, const In& input, Request& request,
                                const CallOptions& options) const
    {
        describe(endpoint, request);
        if (auto refused = appendHeaders(options.headers, request.extraHeaders))
            return refused;
        return endpoint.encode(input, request);
    }

    /// The endpoint's fixed part of a request: method, names, path, idempotency.
    template <class In, class Out>
    void describe(const Endpoint<In, Out>& endpoint, Request& request) const
    {
        request.method = endpoint.method;
        request.operation = endpoint.operation;
        request.urlTemplate = endpoint.urlTemplate;
        request.target = origin_.pathPrefix;
        request.target.append(endpoint.path);
        request.idempotent = endpoint.idempotent;
        request.authenticated = endpoint.authenticated;
    }

    /// Starts a call of `endpoint`: checks and encodes the input before returning (the
    /// awaitable holds copies).
    template <class In, class Out>
    boost::asio::awaitable<Result<Out>> start(const Endpoint<In, Out>& endpoint, const In& input,
                                              const CallOptions& options)
    {
        Request request;
        if (auto error = encode(endpoint, input, request, options))
            return rejected<Out>(std::move(*error));
        return call<Out>(shared_from_this(), CallState{std::move(request), options}, endpoint.decode);
    }

    /// One call with its retries, over `call` (its request and options). `keepAlive` (this
    /// path) lives in the coroutine's frame, so a Client destroyed while the call is in flight
    /// leaves the call its state. A call that ends in an error `Reaim::wants` is offered to
    /// `reaim` once: true sends its rewritten request again within the same call (same
    /// deadline, retry state and observer events).
    template <class T, class Reaim = NoReaim>
    boost::asio::awaitable<Result<T>> call(std::shared_ptr<CallPath> keepAlive, CallState call, Decoder<T> decode,
                                           Reaim reaim = {});

    /// Ends calls in flight and closes the pool. Never throws (used by destructors).
    void shutdown(bool abortInFlight = true) noexcept;
    bool isShutdown() const noexcept { return shutdown_.load(std::memory_order_acquire); }
    ClientStats stats() const;
    const ClientOptions& options() const noexcept { return options_; }
    const CallObserver& observed() const noexcept { return observed_; }

    /// Appends `headers` as request lines to `out`; the first refused one is the error instead.
    static std::optional<Error> appendHeaders(const Headers& headers, std::string& out);

private:
    boost::asio::awaitable<Result<OAuthToken>> fetchToken(Clock::time_point deadline);
    std::string serialize(const Request& r, const std::string& authHeaders);
    /// The credentials' header lines of the call's current attempt.
    const std::string& authOf(const CallState& call) const
    {
        return call.request.authenticated && call.authHeaders.empty() ? auth_.staticHeaders() : call.authHeaders;
    }
    boost::asio::awaitable<void> attempt(const CallState& call, Exchange& result);
    boost::asio::awaitable<bool> sleep(std::chrono::milliseconds delay);
    boost::asio::awaitable<bool> fetchAuthHeaders(CallState& call);
    // Endings of a call, as plain functions: errors built inside a coroutine would take room
    // in its frame for as long as the call runs.
    static void end(CallState& call, Error error) { call.failure = std::make_unique<Error>(std::move(error)); }
    void endBackoff(bool byCaller, CallState& call) const { end(call, backoffEnded(byCaller, call)); }
    boost::asio::awaitable<bool> waitForTurn(CallState& call);
    bool conclude(CallState& call, bool cancelled, std::chrono::milliseconds& delay);
    /// The call's Result: its error, or the decoded answer.
    template <class T>
    Result<T> outcome(CallState& call, Decoder<T> decode) const;
    // Not coroutines: what they build stays off the call's frame.
    void succeeded(const CallState& call);
    /// The error that ends the call after a failed attempt, or none and `delay` for a retry.
    std::optional<Error> failed(CallState& call, bool cancelled, std::chrono::milliseconds& delay);
    Error undecodable(const CallState& call, Error error) const;
    Clock::time_point reportAttemptStart(const CallState& call);
    void reportAttemptEnd(const CallState& call, Clock::time_point started,
                          std::optional<std::chrono::milliseconds> retryIn, std::string_view reason);
    /// A backoff sleep was woken early: by the caller's cancellation or by the Client's end.
    Error backoffEnded(bool byCaller, CallState& call) const;
    /// Sets the call's deadline and retry state as it starts.
    void begin(CallState& call) const;
    double draw();
    void shutdownOrThrow(bool abortInFlight);

    // What the paths of one origin share: the transport (TLS context and session cache) and
    // the connection pool. The pool closes when the last path over it shuts down.
    struct Session {
        std::shared_ptr<Transport> transport;
        std::shared_ptr<ConnectionPool> pool;
        std::atomic<std::size_t> handles{1};
    };

    boost::asio::any_io_executor executor_;
    ClientOptions options_;
    Origin origin_;
    std::string fixedHeaders_;
    Authenticator auth_;
    std::shared_ptr<Session> session_;
    Transport* transport_; // session_'s, which outlives every use
    ConnectionPool* pool_;
    RetryBudget budget_;
    RateLimiter limiter_;
    CallObserver observed_; // false: no observer

    mutable std::mutex mutex_; // guards everything below
    std::mt19937_64 random_;
    std::string consistent_; // latest X-Wix-Consistent, echoed on later requests
    std::set<std::shared_ptr<boost::asio::steady_timer>> sleepers_;
    // Written under mutex_ (with sleepers_), read without it by every attempt of every call.
    std::atomic<bool> shutdown_{false};

    // Set once consistent_ has a value: until then calls skip the mutex (which every call
    // on every thread would otherwise take).
    std::atomic<bool> consistentSeen_{false};
    std::atomic<std::uint64_t> calls_{0}, attempts_{0}, retries_{0}, throttled_{0};
};

template <class T>
Result<T> CallPath::outcome(CallState& call, Decoder<T> decode) const
{
    if (call.failure)
        return std::move(*call.failure);
    Result<T> answer{boost::system::in_place_value};
    decode(call.result.response.body, answer);
    if (!answer)
        answer = undecodable(call, std::move(answer).error()); // Result gives its error by value
    return answer;
}

template <class T, class Reaim>
boost::asio::awaitable<Result<T>> CallPath::call(std::shared_ptr<CallPath> /*keepAlive*/, CallState call,
                                                 Decoder<T> decode, Reaim reaim)
{
    namespace net = boost::asio;
    // Calls run in the caller's coroutine: cancellation must end them with an Error, not an
    // exception, and the caller's own setting is restored on the way out.
    const bool callerThrowsIfCancelled = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    auto cancelled = [&]() -> net::awaitable<bool> {
        const auto state = co_await net::this_coro::cancellation_state;
        co_return state.cancelled() != net::cancellation_type::none;
    };

    begin(call);
    for (;;) {
        if (isShutdown()) { // closed: even over a pool that other tenants keep open
            end(call, interrupted(Errc::clientShutdown, call.retry.attempts()));
            break;
        }
        if (call.request.authenticated && !auth_.readyHeaders(call.authHeaders) && !co_await fetchAuthHeaders(call))
            break;
        call.rateEpoch = limiter_.epoch();
        if (limiter_.limiting() && !co_await waitForTurn(call))
            break;
        call.retry.startAttempt();
        call.throttled = false;
        ++attempts_;
        Clock::time_point attemptStart{};
        if (observed_) [[unlikely]]
            attemptStart = reportAttemptStart(call);
        co_await attempt(call, call.result);
        // A rejected token is replaced once, whatever the retry policy says.
        if (call.result.status() == 401 && call.request.authenticated && !call.refreshedAfter401
            && auth_.rejected(call.authHeaders)) {
            call.refreshedAfter401 = true;
            if (observed_) [[unlikely]]
                reportAttemptEnd(call, attemptStart, std::chrono::milliseconds(0), "HTTP 401: a new token is asked for");
            continue;
        }

        const bool succeeded = call.result.status() == 200;
        const bool cancelledNow = !succeeded && co_await cancelled();
        std::chrono::milliseconds delay{};
        const bool over = conclude(call, cancelledNow, delay);
        if (observed_) [[unlikely]]
            reportAttemptEnd(call, attemptStart, over ? std::nullopt : std::optional(delay), call.lastTransient);
        if (over) {
            if constexpr (!std::is_same_v<Reaim, NoReaim>) {
                if (call.failure && Reaim::wants(*call.failure) && !std::exchange(call.reaimed, true)
                    && co_await reaim(call.request, call.deadline)) {
                    call.failure.reset();
                    continue;
                }
            }
            break;
        }
        ++retries_;
        if (!co_await sleep(delay)) {
            endBackoff(co_await cancelled(), call);
            break;
        }
    }
    ++calls_;
    co_await net::this_coro::throw_if_cancelled(callerThrowsIfCancelled);
    co_return outcome(call, decode);
}

} // namespace wix::inbox::detail
