// The Client: validates input, builds requests, and runs the retry loop over the pool.
#include <wix/inbox/client.hpp>
#include <wix/inbox/codec.hpp>
#include <wix/inbox/webhooks.hpp>

#include "auth.hpp"
#include "call_observer.hpp"
#include "conversation_cache.hpp"
#include "endpoints.hpp"
#include "pool.hpp"
#include "rate_limiter.hpp"
#include "retry.hpp"
#include "transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <random>
#include <set>

#ifndef WIX_INBOX_VERSION
#error "WIX_INBOX_VERSION must be defined by the build"
#endif

namespace wix::inbox {
namespace net = boost::asio;
using detail::Clock;

namespace {

using namespace std::string_view_literals;
constexpr auto useTuple = net::as_tuple(net::use_awaitable);

// The service's response headers the Client reads; the transport keeps them by position.
constexpr std::array<std::string_view, 2> wixHeaders{"X-Wix-Request-Id", "X-Wix-Consistent"};
constexpr std::size_t requestIdHeader = 0;
constexpr std::size_t consistentHeader = 1;
static_assert(wixHeaders.size() <= detail::maxKeptHeaders);

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

// Appends `headers` as request lines to `out`; the first refused one is the error instead.
// Values are never quoted back: they may be secrets.
std::optional<Error> appendHeaders(const Headers& headers, std::string& out)
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

void validate(const ConversationCacheOptions& o)
{
    if (o.capacity > 10'000'000)
        throw Exception(makeError(Errc::invalidArgument, "conversationCache.capacity must be in 0..10000000"));
    if (o.timeToLive < std::chrono::seconds(1) || o.timeToLive > std::chrono::hours(24 * 7))
        throw Exception(makeError(Errc::invalidArgument, "conversationCache.timeToLive must be in 1 s..7 days"));
}

void validate(const ClientOptions& o)
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
    validate(o.conversationCache);
    check(isFieldText(o.userAgentSuffix), "userAgentSuffix holds a control character");
    std::string lines;
    if (auto refused = appendHeaders(o.headers, lines))
        throw Exception(std::move(*refused));
}

// The lines every request of a client carries, whatever the call.
std::string fixedHeaderLines(const detail::Origin& origin, const ClientOptions& o)
{
    std::string out = "Host: " + origin.hostHeader + "\r\nUser-Agent: wix-inbox-cpp/" WIX_INBOX_VERSION;
    if (!o.userAgentSuffix.empty())
        out.append(" ").append(o.userAgentSuffix);
    out.append("\r\nAccept: application/json\r\n");
    appendHeaders(o.headers, out); // validated: cannot fail
    return out;
}

ClientOptions validated(ClientOptions o)
{
    validate(o);
    return o;
}

// The error of a call ended by its caller, or by the Client being closed or destroyed.
Error interrupted(Errc code, int attempts)
{
    Error e = makeError(code, code == Errc::cancelled ? "cancelled by the caller"
                                                      : "client closed or destroyed while the call was in flight");
    e.attempts = attempts;
    return e;
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

// Endings of a call, as plain functions: errors built inside a coroutine would take room in
// its frame for as long as the call runs.
template <class T>
void endCall(Result<T>& outcome, Error error, int attempts)
{
    error.attempts = attempts;
    outcome = std::move(error);
}

// A backoff sleep was woken early: by the caller's cancellation or by the Client's end.
template <class T>
void endBackoff(Result<T>& outcome, bool byCaller, int attempts, std::string& lastTransient)
{
    Error error = interrupted(byCaller ? Errc::cancelled : Errc::clientShutdown, attempts);
    error.stopReason = byCaller ? RetryStop::cancelled : RetryStop::none;
    error.lastTransientFailure = std::move(lastTransient);
    outcome = std::move(error);
}

using detail::Decoder;
using detail::Request;

// The answer that the conversation a request named is gone (merged into another).
template <class T>
bool conversationGone(const Result<T>& outcome)
{
    if (outcome)
        return false;
    const Error error = outcome.error();
    return error.httpStatus == 404 && error.application() == ApplicationError::conversationNotFound;
}

// The awaitable of a call rejected before any I/O.
template <class T>
net::awaitable<Result<T>> rejected(Error error)
{
    co_return error;
}

// What the Clients of one origin share: the transport (TLS context and session cache) and
// the connection pool. The pool closes when the last Client handle over it is destroyed.
struct Session {
    std::shared_ptr<detail::Transport> transport;
    std::shared_ptr<detail::ConnectionPool> pool;
    std::atomic<std::size_t> handles{1};
};

} // namespace

class Client::Impl : public std::enable_shared_from_this<Impl> {
public:
    Impl(net::any_io_executor executor, ClientOptions options)
        : executor_(std::move(executor))
        , options_(std::move(options))
        , origin_(parseOrigin(options_.baseUrl))
        , fixedHeaders_(fixedHeaderLines(origin_, options_))
        , auth_(options_.credentials,
                [this](Clock::time_point deadline) { return fetchToken(deadline); })
        , session_(std::make_shared<Session>())
        , budget_(options_.retryBudget)
        , limiter_(options_.rateLimit)
        , cache_(makeCache(options_.conversationCache))
        , observed_(options_.observer, options_.credentials, origin_)
        , random_(std::random_device{}())
    {
        session_->transport = std::make_shared<detail::Transport>(
            executor_, origin_, options_.tls,
            detail::ResponseRules{options_.maxResponseHeaderBytes, options_.maxResponseBodyBytes,
                                  options_.headersTimeout, options_.readTimeout, {wixHeaders.begin(), wixHeaders.end()},
                                  observed_.wantsHeaders()},
            proxyRoute(options_.proxy, origin_));
        session_->pool = std::make_shared<detail::ConnectionPool>(executor_, session_->transport, options_.pool,
                                                                  options_.observer);
        transport_ = session_->transport.get();
        pool_ = session_->pool.get();
        pool_->prewarm(options_.pool.prewarmConnections);
    }

    /// A tenant's Impl over `parent`'s session: the same options but its credentials and
    /// conversation cache.
    Impl(const Impl& parent, Credentials credentials, const ConversationCacheOptions& cache)
        : executor_(parent.executor_)
        , options_(withTenant(parent.options_, std::move(credentials), cache))
        , origin_(parent.origin_)
        , fixedHeaders_(parent.fixedHeaders_)
        , auth_(options_.credentials,
                [this](Clock::time_point deadline) { return fetchToken(deadline); })
        , session_(parent.session_)
        , transport_(parent.transport_)
        , pool_(parent.pool_)
        , budget_(options_.retryBudget)
        , limiter_(options_.rateLimit)
        , cache_(makeCache(options_.conversationCache))
        , observed_(options_.observer, options_.credentials, origin_)
        , random_(std::random_device{}())
    {
        session_->handles.fetch_add(1, std::memory_order_relaxed);
    }

    /// Starts a call of `endpoint`: checks and encodes the input before returning (the
    /// awaitable holds copies), then runs it through call().
    template <class In, class Out>
    net::awaitable<Result<Out>> start(const detail::Endpoint<In, Out>& endpoint, const In& input,
                                      const CallOptions& options)
    {
        Request request;
        if (auto error = encode(endpoint, input, request, options))
            return rejected<Out>(std::move(*error));
        return call<Out>(shared_from_this(), std::move(request), options, endpoint.decode);
    }

    template <class In, class Out>
    std::optional<Error> encode(const detail::Endpoint<In, Out>& endpoint, const In& input, Request& request,
                                const CallOptions& options) const
    {
        request.method = endpoint.method;
        request.operation = endpoint.operation;
        request.urlTemplate = endpoint.urlTemplate;
        request.target = origin_.pathPrefix;
        request.target.append(endpoint.path);
        request.idempotent = endpoint.idempotent;
        if (auto refused = appendHeaders(options.headers, request.extraHeaders))
            return refused;
        return endpoint.encode(input, request);
    }

    /// GetOrCreate through the conversation cache, if there is one.
    net::awaitable<Result<GetOrCreateConversationResponse>> getOrCreate(const ParticipantId& participant,
                                                                      const CallOptions& options)
    {
        const auto& endpoint = detail::endpoints::getOrCreateConversation;
        if (!cache_)
            return start(endpoint, {participant}, options);
        Request request;
        if (auto error = encode(endpoint, {participant}, request, options))
            return rejected<GetOrCreateConversationResponse>(std::move(*error));
        return resolveCached(shared_from_this(), participant, std::move(request), options);
    }

    const ConversationCacheOptions& conversationCacheOptions() const { return options_.conversationCache; }

    std::size_t applyMerge(const webhooks::ConversationsMerged& event)
    {
        if (!cache_)
            return 0;
        return cache_->forgetConversations(event.oldConversationIds); // entries of the target stay right
    }

    /// Token requests go to the same origin, through the same pool and retry policy.
    net::awaitable<Result<detail::OAuthToken>> fetchToken(Clock::time_point deadline);

    /// One call with its retries. `keepAlive` (this Impl) lives in the coroutine's frame, so
    /// a Client destroyed while the call is in flight leaves the call its state.
    template <class T>
    net::awaitable<Result<T>> call(std::shared_ptr<Impl> keepAlive, Request request, CallOptions options,
                                   Decoder<T> decode);

    /// Ends calls in flight and closes the pool. Never throws (used by destructors).
    void shutdown(bool abortInFlight = true) noexcept;
    bool isShutdown() const
    {
        std::lock_guard lock(mutex_);
        return shutdown_;
    }
    ClientStats stats() const;

private:
    static ClientOptions withTenant(ClientOptions options, Credentials credentials,
                                    const ConversationCacheOptions& cache)
    {
        options.credentials = std::move(credentials);
        options.conversationCache = cache;
        validate(cache);
        return options;
    }

    static std::unique_ptr<detail::ConversationCache> makeCache(const ConversationCacheOptions& options)
    {
        if (options.capacity == 0)
            return nullptr;
        return std::make_unique<detail::ConversationCache>(options);
    }

    net::awaitable<Result<GetOrCreateConversationResponse>> resolveCached(std::shared_ptr<Impl> keepAlive,
                                                                          ParticipantId participant, Request request,
                                                                          CallOptions options);
    net::awaitable<Result<GetOrCreateConversationResponse>> fetchConversation(std::shared_ptr<Impl> keepAlive,
                                                                              std::string key, ParticipantId participant,
                                                                              Request request, CallOptions options);
    net::awaitable<bool> reresolve(Request& request, Clock::time_point deadline);

    static detail::Origin parseOrigin(const std::string& url)
    {
        auto origin = detail::parseBaseUrl(url);
        if (!origin)
            throw Exception(origin.error());
        return *origin;
    }

    static std::optional<detail::ProxyRoute> proxyRoute(const ProxyOptions& proxy, const detail::Origin& origin)
    {
        auto route = detail::proxyRoute(proxy, origin.host, origin.hostIsAddress);
        if (!route)
            throw Exception(route.error());
        return std::move(*route);
    }

    std::string serialize(const Request& r, const std::string& authHeaders);
    net::awaitable<void> attempt(const Request& request, const std::string& authHeaders,
                                 Clock::time_point deadline, detail::Exchange& result);
    template <class T>
    net::awaitable<bool> fetchAuthHeaders(Clock::time_point deadline, std::string& headers, Result<T>& outcome,
                                          int attempts);
    net::awaitable<bool> sleep(std::chrono::milliseconds delay);
    template <class T>
    net::awaitable<bool> waitForTurn(const Request& request, Clock::time_point deadline, std::uint64_t& epoch,
                                     Result<T>& outcome, int attempts, std::string& lastTransient);
    template <class T>
    bool conclude(detail::Exchange& result, std::uint64_t rateEpoch, const std::string& authHeaders,
                  detail::RetryState& retry, Decoder<T> decode, bool cancelled, std::string& lastTransient,
                  Result<T>& outcome, std::chrono::milliseconds& delay);
    // Not coroutines: what they build stays off the call's frame.
    Clock::time_point reportAttemptStart(const Request& request, const std::string& authHeaders, int resendCount);
    void reportAttemptEnd(const Request& request, const std::string& authHeaders, int resendCount,
                          const detail::Exchange& result, Clock::time_point started,
                          std::optional<std::chrono::milliseconds> retryIn, std::string_view reason);
    double draw();
    void shutdownOrThrow(bool abortInFlight = true);

    net::any_io_executor executor_;
    ClientOptions options_;
    detail::Origin origin_;
    std::string fixedHeaders_;
    detail::Authenticator auth_;
    std::shared_ptr<Session> session_;
    detail::Transport* transport_;       // session_'s, which outlives every use
    detail::ConnectionPool* pool_;
    detail::RetryBudget budget_;
    detail::RateLimiter limiter_;
    std::unique_ptr<detail::ConversationCache> cache_; // null: no cache
    detail::CallObserver observed_; // false: no observer

    mutable std::mutex mutex_; // guards everything below
    std::mt19937_64 random_;
    std::string consistent_;   // latest X-Wix-Consistent, echoed on later requests
    std::set<std::shared_ptr<net::steady_timer>> sleepers_;
    bool shutdown_ = false;

    // Set once consistent_ has a value: until then calls skip the mutex (which every call
    // on every thread would otherwise take).
    std::atomic<bool> consistentSeen_{false};
    std::atomic<std::uint64_t> calls_{0}, attempts_{0}, retries_{0}, throttled_{0};
};

std::string Client::Impl::serialize(const Request& r, const std::string& authHeaders)
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

Clock::time_point Client::Impl::reportAttemptStart(const Request& request, const std::string& authHeaders,
                                                   int resendCount)
{
    const std::string head = observed_.wantsHeaders() ? serialize(request, authHeaders) : std::string();
    observed_.attemptStart(request, resendCount, head);
    return Clock::now();
}

void Client::Impl::reportAttemptEnd(const Request& request, const std::string& authHeaders, int resendCount,
                                    const detail::Exchange& result, Clock::time_point started,
                                    std::optional<std::chrono::milliseconds> retryIn, std::string_view reason)
{
    const auto took = Clock::now() - started;
    const std::string head = observed_.wantsHeaders() ? serialize(request, authHeaders) : std::string();
    observed_.attemptEnd(request, resendCount, result, took, retryIn, head);
    observed_.throttle(request, result);
    if (retryIn)
        observed_.retry(request, resendCount + 1, *retryIn, reason);
}

double Client::Impl::draw()
{
    std::lock_guard lock(mutex_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

// One attempt: borrow a connection, exchange, give it back. A reused connection that fails
// before any response byte was closed by the server while idle: the request is sent once
// more on a fresh connection (only when it is safe to send twice). The outcome goes to
// `result`, which the call's frame holds: a returned one would take room in this frame
// too, for every call waiting for a connection.
net::awaitable<void> Client::Impl::attempt(const Request& request, const std::string& authHeaders,
                                           Clock::time_point deadline, detail::Exchange& result)
{
    std::string bytes; // made once a connection is at hand: waiting calls don't hold it
    for (bool fresh = false;; fresh = true) {
        result = detail::Exchange{};
        auto lease = fresh ? std::nullopt : pool_->tryAcquire(result.error);
        if (!lease && !result.error)
            co_await pool_->acquire(deadline, fresh, lease, result.error);
        if (!lease)
            co_return;
        if (bytes.empty())
            bytes = serialize(request, authHeaders);
        const bool reused = lease->reused();
        if (observed_ && reused) [[unlikely]]
            observed_.connectionReused();
        co_await transport_->exchange(lease->connection(), bytes, deadline, result);
        if (!result.error) {
            lease->release(result.reusable, result.response.keepAliveTimeout);
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

// Credentials that must be awaited (a token to fetch, a provider to ask), in a frame of
// their own: the call's frame then needs no room for them. False when the call is over.
template <class T>
net::awaitable<bool> Client::Impl::fetchAuthHeaders(Clock::time_point deadline, std::string& headers,
                                                    Result<T>& outcome, int attempts)
{
    auto fetched = co_await auth_.headers(deadline);
    if (!fetched) {
        endCall(outcome, std::move(fetched).error(), attempts);
        co_return false;
    }
    headers = std::move(*fetched);
    co_return true;
}

// Waits for the rate limiter's turn (in a frame of its own: most calls never wait). False
// when the call is over: the turn comes after the deadline, or the wait was interrupted.
template <class T>
net::awaitable<bool> Client::Impl::waitForTurn(const Request& request, Clock::time_point deadline, std::uint64_t& epoch,
                                               Result<T>& outcome, int attempts, std::string& lastTransient)
{
    const auto start = Clock::now();
    auto turn = limiter_.take(start, deadline);
    const bool waits = turn && !turn->ready;
    while (turn && !turn->ready) {
        if (!co_await sleep(std::chrono::ceil<std::chrono::milliseconds>(turn->at - Clock::now()))) {
            limiter_.leave(*turn);
            if (observed_)
                observed_.rateLimitWait(request, Clock::now() - start, false);
            const auto state = co_await net::this_coro::cancellation_state;
            endBackoff(outcome, state.cancelled() != net::cancellation_type::none, attempts, lastTransient);
            co_return false;
        }
        if (!limiter_.check(*turn, Clock::now(), deadline))
            turn.reset();
    }
    if (!turn) {
        Error e = makeError(Errc::timeout, "the rate limit gives this call no turn before its deadline");
        e.stopReason = RetryStop::deadline;
        e.lastTransientFailure = std::move(lastTransient);
        endCall(outcome, std::move(e), attempts);
        if (observed_)
            observed_.rateLimitWait(request, Clock::now() - start, false);
        co_return false;
    }
    if (observed_ && waits)
        observed_.rateLimitWait(request, Clock::now() - start, true);
    epoch = turn->epoch;
    co_return true;
}

// Sleeps between attempts; false if woken early (cancellation or client shutdown).
net::awaitable<bool> Client::Impl::sleep(std::chrono::milliseconds delay)
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

// The outcome of an attempt: true and `outcome` set when the call is over, false and the
// backoff `delay` when it is retried. Not a coroutine, so its temporaries stay off the
// call's frame, which lives as long as the call.
template <class T>
bool Client::Impl::conclude(detail::Exchange& result, std::uint64_t rateEpoch, const std::string& authHeaders,
                            detail::RetryState& retry, Decoder<T> decode, bool cancelled, std::string& lastTransient,
                            Result<T>& outcome, std::chrono::milliseconds& delay)
{
    if (result.status() == 200) {
        budget_.onSuccess();
        if (limiter_.enabled())
            limiter_.onAnswer(Clock::now(), rateEpoch, false, std::nullopt);
        decode(result.response.body, outcome);
        if (outcome)
            return true;
        Error error = std::move(outcome).error(); // Result gives its error by value
        error.requestId = result.response.kept[requestIdHeader];
        error.attempts = retry.attempts();
        error.stopReason = RetryStop::notRetryable;
        outcome = std::move(error);
        return true;
    }
    Error error;
    std::optional<std::chrono::milliseconds> retryAfter;
    bool throttled = false;
    if (!result.error) {
        const auto& r = result.response;
        error.code = make_error_code(Errc::httpStatus);
        error.httpStatus = r.status;
        error.requestId = r.kept[requestIdHeader];
        decodeErrorBody(r.body, error);
        auth_.redact(error, authHeaders); // the server's texts may echo the request
        if ((r.status == 429 || r.status == 503) && !r.retryAfter.empty())
            retryAfter = detail::parseRetryAfter(r.retryAfter, std::chrono::system_clock::now());
        // Asked to slow down: a 429, or a 503 that names a wait (Retry-After: 0 asks for none).
        const auto namedWait = retryAfter && retryAfter->count() > 0 ? retryAfter : std::nullopt;
        throttled = r.status == 429 || namedWait;
        if (throttled)
            ++throttled_;
        if (limiter_.enabled() && r.status == 503 && namedWait)
            limiter_.onUnavailable(Clock::now(), *namedWait);
        else if (limiter_.enabled())
            limiter_.onAnswer(Clock::now(), rateEpoch, r.status == 429, namedWait);
    } else {
        error = std::move(*result.error);
    }
    error.attempts = retry.attempts();

    detail::RetryDecision decision;
    if (isShutdown()) {
        error = interrupted(Errc::clientShutdown, retry.attempts());
    } else if (cancelled) {
        error = interrupted(Errc::cancelled, retry.attempts());
        decision.stop = RetryStop::cancelled;
    } else {
        // A 429 tells the request was refused, not done: even a send may go again.
        const bool mayHaveTakenEffect = result.requestStarted && result.status() != 429;
        decision = retry.onFailure({error, mayHaveTakenEffect, retryAfter, throttled && limiter_.enabled()},
                                   Clock::now(), budget_, draw());
        if (decision.stop == RetryStop::notIdempotent)
            markOutcomeUnknown(error);
    }
    if (!decision.retry) {
        error.stopReason = decision.stop;
        error.lastTransientFailure = std::move(lastTransient);
        outcome = std::move(error);
        return true;
    }
    lastTransient = error.describe();
    delay = decision.delay;
    return false;
}

template <class T>
net::awaitable<Result<T>> Client::Impl::call(std::shared_ptr<Impl> /*keepAlive*/, Request request,
                                             CallOptions options, Decoder<T> decode)
{
    // Calls run in the caller's coroutine: cancellation must end them with an Error, not an
    // exception, and the caller's own setting is restored on the way out.
    const bool callerThrowsIfCancelled = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    auto cancelled = [&]() -> net::awaitable<bool> {
        const auto state = co_await net::this_coro::cancellation_state;
        co_return state.cancelled() != net::cancellation_type::none;
    };

    const auto start = Clock::now();
    const auto deadline = start + options.timeout.value_or(options_.timeout);
    switch (options.idempotency) {
    case Idempotency::byMethod: break;
    case Idempotency::idempotent: request.idempotent = true; break;
    case Idempotency::nonIdempotent: request.idempotent = false; break;
    }
    detail::RetryState retry(options.retry.value_or(options_.retry), options_.backoff, request.idempotent, start,
                             deadline);
    std::string lastTransient;
    Result<T> outcome{boost::system::in_place_value};
    detail::Exchange result;
    bool refreshedAfter401 = false;
    bool reresolved = false;

    for (;;) {
        if (isShutdown()) { // closed: even over a pool that other tenants keep open
            outcome = interrupted(Errc::clientShutdown, retry.attempts());
            break;
        }
        std::string authHeaders;
        if (request.authenticated && !auth_.readyHeaders(authHeaders)
            && !co_await fetchAuthHeaders(deadline, authHeaders, outcome, retry.attempts()))
            break;
        std::uint64_t rateEpoch = limiter_.epoch();
        if (limiter_.limiting()
            && !co_await waitForTurn(request, deadline, rateEpoch, outcome, retry.attempts(), lastTransient))
            break;
        retry.startAttempt();
        ++attempts_;
        Clock::time_point attemptStart{};
        if (observed_) [[unlikely]]
            attemptStart = reportAttemptStart(request, authHeaders, retry.attempts() - 1);
        co_await attempt(request, authHeaders, deadline, result);
        // A rejected token is replaced once, whatever the retry policy says.
        if (result.status() == 401 && request.authenticated && !refreshedAfter401
            && auth_.rejected(authHeaders)) {
            refreshedAfter401 = true;
            if (observed_) [[unlikely]]
                reportAttemptEnd(request, authHeaders, retry.attempts() - 1, result, attemptStart,
                                 std::chrono::milliseconds(0), "HTTP 401: a new token is asked for");
            continue;
        }

        const bool succeeded = result.status() == 200;
        const bool cancelledNow = !succeeded && co_await cancelled();
        std::chrono::milliseconds delay{};
        const bool over
            = conclude(result, rateEpoch, authHeaders, retry, decode, cancelledNow, lastTransient, outcome, delay);
        if (observed_) [[unlikely]]
            reportAttemptEnd(request, authHeaders, retry.attempts() - 1, result, attemptStart,
                             over ? std::nullopt : std::optional(delay), lastTransient);
        if (over) {
            if (cache_ && conversationGone(outcome) && !std::exchange(reresolved, true)
                && co_await reresolve(request, deadline))
                continue;
            break;
        }
        ++retries_;
        if (!co_await sleep(delay)) {
            endBackoff(outcome, co_await cancelled(), retry.attempts(), lastTransient);
            break;
        }
    }
    ++calls_;
    co_await net::this_coro::throw_if_cancelled(callerThrowsIfCancelled);
    co_return outcome;
}

// The conversation cache's single flight, filled by the call of whichever caller leads.
net::awaitable<Result<GetOrCreateConversationResponse>>
Client::Impl::resolveCached(std::shared_ptr<Impl> keepAlive, ParticipantId participant, Request request,
                            CallOptions options)
{
    const bool callerThrowsIfCancelled = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    const auto deadline = Clock::now() + options.timeout.value_or(options_.timeout);
    auto key = detail::ConversationCache::keyOf(participant);
    detail::Took took = detail::Took::led;
    auto outcome = co_await cache_->flights().run(
        key, deadline, [&] { return cache_->find(key, Clock::now()); },
        [&] {
            // A caller that waited for another's flight before leading one has less time left.
            options.timeout = std::max(std::chrono::milliseconds(1),
                                       std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
            return fetchConversation(keepAlive, key, participant, std::move(request), options);
        },
        &took);
    if (observed_)
        observed_.cacheLookup(took);
    co_await net::this_coro::throw_if_cancelled(callerThrowsIfCancelled);
    co_return outcome;
}

net::awaitable<Result<GetOrCreateConversationResponse>>
Client::Impl::fetchConversation(std::shared_ptr<Impl> keepAlive, std::string key, ParticipantId participant,
                                Request request, CallOptions options)
{
    const auto decode = detail::endpoints::getOrCreateConversation.decode;
    auto outcome = co_await call<GetOrCreateConversationResponse>(keepAlive, std::move(request), options, decode);
    if (outcome) // before the flight lands: a caller arriving after it finds the entry
        cache_->store(key, participant, outcome->conversation, Clock::now());
    co_return outcome;
}

// A request's conversation answered 404 CONVERSATION_NOT_FOUND: its cache entries go, and
// when the cache knew its participant and the request can be sent elsewhere, it is
// retargeted at the participant's conversation resolved afresh. The 404 says nothing was
// done, so even a send may go again. True if retargeted.
net::awaitable<bool> Client::Impl::reresolve(Request& request, Clock::time_point deadline)
{
    const auto participant = cache_->forgetConversation(request.conversationId);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (!participant || !request.retarget || left.count() <= 0)
        co_return false;
    CallOptions options;
    options.timeout = left;
    auto resolved = co_await getOrCreate(*participant, options);
    if (!resolved)
        co_return false;
    const auto id = lowerCaseGuid(resolved->conversation.id);
    if (id == request.conversationId)
        co_return false;
    request.retarget(request, id);
    cache_->noteReresolved();
    co_return true;
}

void Client::Impl::shutdownOrThrow(bool abortInFlight)
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

void Client::close()
{
    if (impl_)
        impl_->shutdown(false);
}

Client Client::forTenant(Credentials credentials) const
{
    return forTenant(std::move(credentials), impl_->conversationCacheOptions());
}

Client Client::forTenant(Credentials credentials, const ConversationCacheOptions& cache) const
{
    Client tenant;
    tenant.impl_ = std::make_shared<Impl>(*impl_, std::move(credentials), cache);
    return tenant;
}

std::size_t Client::applyMerge(const webhooks::ConversationsMerged& event)
{
    return impl_->applyMerge(event);
}

net::awaitable<Result<detail::OAuthToken>> Client::Impl::fetchToken(Clock::time_point deadline)
{
    const auto& app = std::get<OAuthApp>(options_.credentials);
    Request request;
    request.method = "POST";
    request.operation = "RequestToken";
    request.urlTemplate = "/oauth2/token";
    request.target = origin_.pathPrefix + "/oauth2/token";
    request.body = detail::encodeTokenRequest(app);
    request.idempotent = true;
    request.authenticated = false;
    CallOptions options;
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (options.timeout->count() <= 0)
        co_return makeError(Errc::timeout, "deadline expired before the token request");
    constexpr Decoder<detail::OAuthToken> decode
        = [](std::string_view body, Result<detail::OAuthToken>& out) { out = detail::decodeTokenResponse(body); };
    const auto start = Clock::now();
    auto token = co_await call<detail::OAuthToken>(shared_from_this(), std::move(request), options, decode);
    if (observed_) {
        const Error failure = token ? Error{} : token.error();
        observed_.tokenRequest(Clock::now() - start, token ? nullptr : &failure);
    }
    co_return token;
}

ClientStats Client::Impl::stats() const
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
    if (cache_)
        s.conversationCache = cache_->stats();
    return s;
}

Client::Client(net::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), validated(std::move(options))))
{
}

Client::~Client()
{
    if (impl_)
        impl_->shutdown();
}

void Client::Impl::shutdown(bool abortInFlight) noexcept
{
    try {
        shutdownOrThrow(abortInFlight);
    } catch (...) {
        // Only allocation can fail here; calls then end by their own deadlines instead.
    }
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&& other) noexcept
{
    if (this != &other) {
        if (impl_)
            impl_->shutdown();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

// Not coroutines themselves: a call's state lives in one frame (Impl::call), which keeps
// the memory of many calls in flight small.
net::awaitable<Result<Conversation>> Client::getConversation(std::string_view conversationId, const CallOptions& options)
{
    return impl_->start(detail::endpoints::getConversation, {conversationId}, options);
}

net::awaitable<Result<GetOrCreateConversationResponse>> Client::getOrCreateConversation(const ParticipantId& participant,
                                                                                      const CallOptions& options)
{
    return impl_->getOrCreate(participant, options);
}

net::awaitable<Result<MessagesPage>> Client::listMessages(std::string_view conversationId, Visibility visibility,
                                                         const ListMessagesOptions& list, const CallOptions& options)
{
    return impl_->start(detail::endpoints::listMessages, {conversationId, visibility, list}, options);
}

Pager<MessagesPage> Client::messages(std::string conversationId, Visibility visibility, ListMessagesOptions list,
                                     CallOptions options) const
{
    list.cursor.reset();
    return Pager<MessagesPage>(
        [impl = impl_, id = std::move(conversationId), visibility, list = std::move(list),
         options = std::move(options)](const std::optional<std::string>& cursor) {
            ListMessagesOptions page = list;
            page.cursor = cursor;
            return impl->start(detail::endpoints::listMessages, {id, visibility, page}, options);
        });
}

net::awaitable<Result<Message>> Client::sendMessage(std::string_view conversationId, const Message& message,
                                                   const SendMessageOptions& send, const CallOptions& options)
{
    return impl_->start(detail::endpoints::sendMessage, {conversationId, message, send}, options);
}

ClientStats Client::stats() const
{
    return impl_->stats();
}

std::string_view version() noexcept
{
    return WIX_INBOX_VERSION;
}

} // namespace wix::inbox
