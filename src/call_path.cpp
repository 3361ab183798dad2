// SPDX-License-Identifier: BSL-1.0
#include "call_path.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>

#ifndef WIX_INBOX_VERSION
#error "WIX_INBOX_VERSION must be defined by the build"
#endif

namespace wix::inbox::detail {
namespace net = boost::asio;

namespace {

using namespace std::string_view_literals;
constexpr auto useTuple = net::as_tuple(net::use_awaitable);

// The service's response headers the call path reads; the transport keeps them by position.
constexpr std::array<std::string_view, 2> wixHeaders{"X-Wix-Request-Id", "X-Wix-Consistent"};
constexpr std::size_t requestIdHeader = 0;
constexpr std::size_t consistentHeader = 1;
static_assert(wixHeaders.size() <= maxKeptHeaders);

bool equalsIgnoringCase(std::string_view a, std::string_view b)
{
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size()
        && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// The headers the client writes itself (or that frame the connection): an extra header must
// not replace, duplicate or contradict them.
constexpr std::array<std::string_view, 17> reservedHeaders{
    "Host", "User-Agent", "Accept", "Authorization", "wix-site-id", "wix-account-id", "X-Wix-Consistent",
    "Content-Type", "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
    "Expect", "Proxy-Authorization"};

bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || "!#$%&'*+-.^_`|~"sv.find(c) != std::string_view::npos;
}

// Tab and visible characters only: no CR, LF or NUL to end the line early.
bool isFieldText(std::string_view value)
{
    return std::none_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

// The lines every request of a client carries, whatever the call.
std::string fixedHeaderLines(const Origin& origin, const ClientOptions& o)
{
    std::string out = "Host: " + origin.hostHeader + "\r\nUser-Agent: wix-inbox-cpp/" WIX_INBOX_VERSION;
    if (!o.userAgentSuffix.empty())
        out.append(" ").append(o.userAgentSuffix);
    out.append("\r\nAccept: application/json\r\n");
    CallPath::appendHeaders(o.headers, out); // validated: cannot fail
    return out;
}

// A call that is not idempotent failed after its request may have reached the server: the
// caller must learn that it may have taken effect, whatever the failure was.
void markOutcomeUnknown(Error& error)
{
    const bool answered = error.code == make_error_code(Errc::httpStatus);
    if (answered)
        error.message = "HTTP " + std::to_string(error.httpStatus) + (error.message.empty() ? "" : ": " + error.message);
    else if (error.message.empty())
        error.message = error.code.message();
    if (!answered && !error.cause)
        error.cause = error.code;
    error.code = make_error_code(Errc::outcomeUnknown);
}

Origin parseOrigin(const std::string& url)
{
    auto origin = parseBaseUrl(url);
    if (!origin)
        throw Exception(origin.error());
    return *origin;
}

std::optional<ProxyRoute> routeOf(const ProxyOptions& proxy, const Origin& origin)
{
    auto route = proxyRoute(proxy, origin.host, origin.hostIsAddress);
    if (!route)
        throw Exception(route.error());
    return std::move(*route);
}

ClientOptions withCredentials(ClientOptions options, Credentials credentials)
{
    options.credentials = std::move(credentials);
    return options;
}

} // namespace

void validateCallOptions(const ClientOptions& o)
{
    auto check = [](bool ok, std::string_view what) {
        if (!ok)
            throw Exception(makeError(Errc::invalidArgument, std::string(what)));
    };
    check(o.timeout.count() > 0, "timeout must be > 0");
    check(o.pool.maxConnections >= 1 && o.pool.maxConnections <= 65535, "pool.maxConnections must be in 1..65535");
    check(o.pool.prewarmConnections <= o.pool.maxConnections, "pool.prewarmConnections exceeds maxConnections");
    check(o.pool.connectTimeout.count() > 0, "pool.connectTimeout must be > 0");
    check(o.retry.maxAttempts >= 1, "retry.maxAttempts must be >= 1");
    check(o.backoff.initialDelay.count() > 0, "backoff.initialDelay must be > 0");
    check(o.backoff.multiplier >= 1.0, "backoff.multiplier must be >= 1");
    check(o.backoff.maxDelay >= o.backoff.initialDelay, "backoff.maxDelay must be >= initialDelay");
    check(o.retryBudget.maxTokens >= 0 && o.retryBudget.maxTokens <= 1000, "retryBudget.maxTokens must be in 0..1000");
    check(o.retryBudget.tokenRatio > 0 && o.retryBudget.tokenRatio <= 1, "retryBudget.tokenRatio must be in (0, 1]");
    check(o.maxResponseHeaderBytes >= 1024, "maxResponseHeaderBytes must be >= 1024");
    check(o.maxResponseBodyBytes >= 1024, "maxResponseBodyBytes must be >= 1024");
    check(o.headersTimeout.count() >= 0 && o.readTimeout.count() >= 0, "headersTimeout and readTimeout must be >= 0");
    const auto& rate = o.rateLimit;
    check(rate.mode != RateLimitOptions::Mode::fixed || (rate.requestsPerSecond > 0 && rate.burst >= 1),
          "rateLimit: a fixed rate needs requestsPerSecond > 0 and burst >= 1");
    check(rate.requestsPerSecond >= 0 && rate.requestsPerSecond <= 1e6, "rateLimit.requestsPerSecond must be in 0..1e6");
    check(isFieldText(o.userAgentSuffix), "userAgentSuffix holds a control character");
    std::string lines;
    if (auto refused = CallPath::appendHeaders(o.headers, lines))
        throw Exception(std::move(*refused));
}

Error interrupted(Errc code, int attempts)
{
    Error e = makeError(code, code == Errc::cancelled ? "cancelled by the caller"
                                                      : "client closed or destroyed while the call was in flight");
    e.attempts = attempts;
    return e;
}

// Values are never quoted back: they may be secrets.
std::optional<Error> CallPath::appendHeaders(const Headers& headers, std::string& out)
{
    for (const auto& header : headers) {
        const auto& [name, value] = header; // a plain reference, which clang 14's lambdas can capture
        if (name.empty() || !std::all_of(name.begin(), name.end(), isTokenChar))
            return makeError(Errc::invalidArgument, "a header name must be an HTTP token");
        if (std::any_of(reservedHeaders.begin(), reservedHeaders.end(),
                        [&](std::string_view r) { return equalsIgnoringCase(header.first, r); }))
            return makeError(Errc::invalidArgument, "header '" + name + "' is set by the client"
                                                        + (equalsIgnoringCase(name, "User-Agent")
                                                               ? std::string(": use userAgentSuffix")
                                                               : std::string()));
        if (!isFieldText(value))
            return makeError(Errc::invalidArgument, "the value of header '" + name + "' holds a control character");
        out.append(name).append(": "sv).append(value).append("\r\n"sv);
    }
    return std::nullopt;
}

CallPath::CallPath(net::any_io_executor executor, ClientOptions options)
    : executor_(std::move(executor))
    , options_(std::move(options))
    , origin_(parseOrigin(options_.baseUrl))
    , fixedHeaders_(fixedHeaderLines(origin_, options_))
    , auth_(options_.credentials, [this](Clock::time_point deadline) { return fetchToken(deadline); })
    , session_(std::make_shared<Session>())
    , budget_(options_.retryBudget)
    , limiter_(options_.rateLimit)
    , observed_(options_.observer, options_.credentials, origin_)
    , random_(std::random_device{}())
{
    session_->transport = std::make_shared<Transport>(
        executor_, origin_, options_.tls,
        ResponseRules{options_.maxResponseHeaderBytes, options_.maxResponseBodyBytes, options_.headersTimeout,
                      options_.readTimeout, {wixHeaders.begin(), wixHeaders.end()}, observed_.wantsHeaders()},
        routeOf(options_.proxy, origin_));
    session_->pool = std::make_shared<ConnectionPool>(executor_, session_->transport, options_.pool, options_.observer);
    transport_ = session_->transport.get();
    pool_ = session_->pool.get();
    pool_->prewarm(options_.pool.prewarmConnections);
}

CallPath::CallPath(const CallPath& parent, Credentials credentials)
    : executor_(parent.executor_)
    , options_(withCredentials(parent.options_, std::move(credentials)))
    , origin_(parent.origin_)
    , fixedHeaders_(parent.fixedHeaders_)
    , auth_(options_.credentials, [this](Clock::time_point deadline) { return fetchToken(deadline); })
    , session_(parent.session_)
    , transport_(parent.transport_)
    , pool_(parent.pool_)
    , budget_(options_.retryBudget)
    , limiter_(options_.rateLimit)
    , observed_(options_.observer, options_.credentials, origin_)
    , random_(std::random_device{}())
{
    session_->handles.fetch_add(1, std::memory_order_relaxed);
}

void CallPath::begin(CallState& call) const
{
    const auto start = Clock::now();
    call.deadline = start + call.timeout.value_or(options_.timeout);
    auto& request = call.request;
    switch (call.idempotency) {
    case Idempotency::byMethod: break;
    case Idempotency::idempotent: request.idempotent = true; break;
    case Idempotency::nonIdempotent: request.idempotent = false; break;
    }
    call.retry = RetryState(call.retryPolicy.value_or(options_.retry), options_.backoff, request.idempotent, start,
                            call.deadline);
}

std::string CallPath::serialize(const Request& r, const std::string& authHeaders)
{
    std::string out;
    out.reserve(256 + fixedHeaders_.size() + authHeaders.size() + r.extraHeaders.size() + r.target.size()
                + r.body.size());
    out.append(r.method).append(" "sv).append(r.target).append(" HTTP/1.1\r\n"sv);
    out.append(fixedHeaders_).append(authHeaders).append(r.extraHeaders);
    if (consistentSeen_.load(std::memory_order_acquire)) {
        std::lock_guard lock(mutex_);
        out.append("X-Wix-Consistent: "sv).append(consistent_).append("\r\n"sv);
    }
    if (!r.body.empty())
        out.append("Content-Type: application/json\r\nContent-Length: "sv).append(std::to_string(r.body.size())).append("\r\n"sv);
    out.append("\r\n"sv).append(r.body);
    return out;
}

Clock::time_point CallPath::reportAttemptStart(const CallState& call)
{
    const std::string head = observed_.wantsHeaders() ? serialize(call.request, authOf(call)) : std::string();
    observed_.attemptStart(call.request, call.retry.attempts() - 1, head);
    return Clock::now();
}

void CallPath::reportAttemptEnd(const CallState& call, Clock::time_point started,
                                std::optional<std::chrono::milliseconds> retryIn, std::string_view reason)
{
    const auto took = Clock::now() - started;
    const int resendCount = call.retry.attempts() - 1;
    const std::string head = observed_.wantsHeaders() ? serialize(call.request, authOf(call)) : std::string();
    observed_.attemptEnd(call.request, resendCount, call.result, took, retryIn, call.throttled, head);
    if (call.throttled)
        observed_.throttle(call.request, call.result);
    if (retryIn)
        observed_.retry(call.request, resendCount + 1, *retryIn, reason);
}

double CallPath::draw()
{
    std::lock_guard lock(mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

// Credentials that must be awaited (a token to fetch, a provider to ask), in a frame of
// their own: the call's frame then needs no room for them. False when the call is over.
net::awaitable<bool> CallPath::fetchAuthHeaders(CallState& call)
{
    auto fetched = co_await auth_.headers(call.deadline);
    if (!fetched) {
        Error error = std::move(fetched).error();
        error.attempts = call.retry.attempts();
        end(call, std::move(error));
        co_return false;
    }
    call.authHeaders = std::move(*fetched);
    co_return true;
}

// Waits for the rate limiter's turn (in a frame of its own: most calls never wait). False
// when the call is over: the turn comes after the deadline, or the wait was interrupted.
net::awaitable<bool> CallPath::waitForTurn(CallState& call)
{
    const auto start = Clock::now();
    auto turn = limiter_.take(start, call.deadline);
    const bool waits = turn && !turn->ready;
    while (turn && !turn->ready) {
        if (!co_await sleep(std::chrono::ceil<std::chrono::milliseconds>(turn->at - Clock::now()))) {
            limiter_.leave(*turn);
            if (observed_)
                observed_.rateLimitWait(call.request, Clock::now() - start, false);
            const auto state = co_await net::this_coro::cancellation_state;
            endBackoff(state.cancelled() != net::cancellation_type::none, call);
            co_return false;
        }
        if (!limiter_.check(*turn, Clock::now(), call.deadline))
            turn.reset();
    }
    if (!turn) {
        Error e = makeError(Errc::timeout, "the rate limit gives this call no turn before its deadline");
        e.stopReason = RetryStop::deadline;
        e.lastTransientFailure = std::move(call.lastTransient);
        e.attempts = call.retry.attempts();
        end(call, std::move(e));
        if (observed_)
            observed_.rateLimitWait(call.request, Clock::now() - start, false);
        co_return false;
    }
    if (observed_ && waits)
        observed_.rateLimitWait(call.request, Clock::now() - start, true);
    call.rateEpoch = turn->epoch;
    co_return true;
}

// One attempt: borrow a connection, exchange, give it back. A reused connection that fails
// before any response byte was closed by the server while idle: the request is sent once
// more on a fresh connection (only when it is safe to send twice). The outcome goes to
// `result`, which the call's frame holds: a returned one would take room in this frame
// too, for every call waiting for a connection.
net::awaitable<void> CallPath::attempt(const CallState& call, Exchange& result)
{
    const auto& request = call.request;
    std::string bytes; // made once a connection is at hand: waiting calls don't hold it
    for (bool fresh = false;; fresh = true) {
        // A call's first attempt finds the Exchange as CallState made it: building, moving
        // and destroying another one would cost every call for nothing. Everything an
        // exchange writes comes after requestStarted (or an error from the pool).
        if (fresh || result.requestStarted || result.error)
            result = Exchange{};
        auto now = Clock::now();
        auto lease = fresh ? std::nullopt : pool_->tryAcquire(result.error, now);
        if (!lease && !result.error) {
            co_await pool_->acquire(call.deadline, fresh, lease, result.error);
            now = Clock::now();
        }
        if (!lease)
            co_return;
        if (bytes.empty())
            bytes = serialize(request, authOf(call));
        const bool reused = lease->reused();
        if (observed_ && reused) [[unlikely]]
            observed_.connectionReused();
        co_await transport_->exchange(lease->connection(), bytes, now, call.deadline, result);
        if (!result.error) {
            lease->release(result.reusable, result.response.keepAliveTimeout, result.finishedAt);
            if (const auto& consistent = result.response.kept[consistentHeader]; !consistent.empty()) {
                std::lock_guard lock(mutex_);
                consistent_ = consistent;
                consistentSeen_.store(true, std::memory_order_release);
            }
            co_return;
        }
        const bool stale = reused && !result.responseStarted
                        && result.error->code == make_error_code(Errc::connectionClosed);
        lease->discard(stale ? ConnectionEvent::Reason::serverClosed : ConnectionEvent::Reason::notReusable);
        if (stale && !fresh && request.idempotent) {
            pool_->noteStaleRetry();
            continue;
        }
        co_return;
    }
}

// Sleeps between attempts; false if woken early (cancellation or client shutdown).
net::awaitable<bool> CallPath::sleep(std::chrono::milliseconds delay)
{
    auto timer = std::make_shared<net::steady_timer>(co_await net::this_coro::executor);
    {
        std::lock_guard lock(mutex_);
        if (shutdown_)
            co_return false;
        sleepers_.insert(timer);
    }
    timer->expires_after(delay);
    auto [ec] = co_await timer->async_wait(useTuple);
    std::lock_guard lock(mutex_);
    sleepers_.erase(timer);
    co_return !ec;
}

Error CallPath::backoffEnded(bool byCaller, CallState& call) const
{
    Error error = interrupted(byCaller ? Errc::cancelled : Errc::clientShutdown, call.retry.attempts());
    error.stopReason = byCaller ? RetryStop::cancelled : RetryStop::none;
    error.lastTransientFailure = std::move(call.lastTransient);
    return error;
}

void CallPath::succeeded(const CallState& call)
{
    budget_.onSuccess();
    // The limiter's clock is read now, as for the throttled answers it also hears of: a time
    // from before another call's throttle would put its cut in the future.
    if (limiter_.enabled())
        limiter_.onAnswer(Clock::now(), call.rateEpoch, false, std::nullopt);
}

// A 200 whose body is not the endpoint's answer: not retried.
Error CallPath::undecodable(const CallState& call, Error error) const
{
    error.requestId = call.result.response.kept[requestIdHeader];
    error.attempts = call.retry.attempts();
    error.stopReason = RetryStop::notRetryable;
    return error;
}

// The outcome of an attempt: true when the call is over (`call.failure` says why, if it
// failed), false and the backoff `delay` when it is retried. Not a coroutine, so its
// temporaries stay off the call's frame, which lives as long as the call.
bool CallPath::conclude(CallState& call, bool cancelled, std::chrono::milliseconds& delay)
{
    if (call.result.status() == 200) {
        succeeded(call);
        return true;
    }
    auto error = failed(call, cancelled, delay);
    if (!error)
        return false;
    end(call, std::move(*error));
    return true;
}

std::optional<Error> CallPath::failed(CallState& call, bool cancelled, std::chrono::milliseconds& delay)
{
    auto& result = call.result;
    auto& retry = call.retry;
    Error error;
    std::optional<std::chrono::milliseconds> retryAfter;
    if (!result.error) {
        const auto& r = result.response;
        error.code = make_error_code(Errc::httpStatus);
        error.httpStatus = r.status;
        error.requestId = r.kept[requestIdHeader];
        decodeErrorBody(r.body, error);
        auth_.redact(error, authOf(call)); // the server's texts may echo the request
        if ((r.status == 429 || r.status == 503) && !r.retryAfter.empty())
            retryAfter = parseRetryAfter(r.retryAfter, std::chrono::system_clock::now());
        // Asked to slow down: a 429, or a 503 that names a wait (Retry-After: 0 asks for none).
        const auto namedWait = retryAfter && retryAfter->count() > 0 ? retryAfter : std::nullopt;
        call.throttled = r.status == 429 || namedWait;
        if (call.throttled)
            ++throttled_;
        if (limiter_.enabled() && r.status == 503 && namedWait)
            limiter_.onUnavailable(Clock::now(), *namedWait);
        else if (limiter_.enabled())
            limiter_.onAnswer(Clock::now(), call.rateEpoch, r.status == 429, namedWait);
    } else {
        error = std::move(*result.error);
    }
    error.attempts = retry.attempts();

    RetryDecision decision;
    if (isShutdown()) {
        error = interrupted(Errc::clientShutdown, retry.attempts());
    } else if (cancelled) {
        error = interrupted(Errc::cancelled, retry.attempts());
        decision.stop = RetryStop::cancelled;
    } else {
        // A 429 tells the request was refused, not done: even a send may go again.
        const bool mayHaveTakenEffect = result.requestStarted && result.status() != 429;
        decision = retry.onFailure({error, mayHaveTakenEffect, retryAfter, call.throttled && limiter_.enabled()},
                                   Clock::now(), budget_, draw());
        if (decision.stop == RetryStop::notIdempotent)
            markOutcomeUnknown(error);
    }
    if (!decision.retry) {
        error.stopReason = decision.stop;
        error.lastTransientFailure = std::move(call.lastTransient);
        return error;
    }
    call.lastTransient = error.describe();
    delay = decision.delay;
    return std::nullopt;
}

// Token requests go to the same origin, through the same pool and retry policy.
net::awaitable<Result<OAuthToken>> CallPath::fetchToken(Clock::time_point deadline)
{
    CallOptions options;
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (options.timeout->count() <= 0)
        co_return makeError(Errc::timeout, "deadline expired before the token request");
    const auto began = Clock::now();
    auto token = co_await start(requestToken, std::get<OAuthApp>(options_.credentials), options);
    if (observed_) {
        const Error failure = token ? Error{} : token.error();
        observed_.tokenRequest(Clock::now() - began, token ? nullptr : &failure);
    }
    co_return token;
}

void CallPath::shutdownOrThrow(bool abortInFlight)
{
    {
        std::lock_guard lock(mutex_);
        if (shutdown_)
            return;
        shutdown_ = true;
        for (const auto& timer : sleepers_)
            net::post(timer->get_executor(), [timer] { timer->cancel(); });
    }
    if (session_->handles.fetch_sub(1, std::memory_order_acq_rel) == 1)
        pool_->shutdown(abortInFlight);
}

void CallPath::shutdown(bool abortInFlight) noexcept
{
    try {
        shutdownOrThrow(abortInFlight);
    } catch (...) {
        // Only allocation can fail here; calls then end by their own deadlines instead.
    }
}

ClientStats CallPath::stats() const
{
    ClientStats s;
    s.pool = pool_->stats();
    s.calls = calls_.load();
    s.attempts = attempts_.load();
    s.retries = retries_.load();
    s.throttled = throttled_.load();
    const auto limiter = limiter_.stats();
    s.rateLimit = limiter.requestsPerSecond;
    s.rateLimitWaitSeconds = limiter.waitSeconds;
    s.retryBudgetTokens = budget_.tokens();
    s.tokenRequests = auth_.tokenRequests();
    return s;
}

} // namespace wix::inbox::detail
