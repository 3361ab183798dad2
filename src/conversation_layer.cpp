// SPDX-License-Identifier: BSL-1.0
#include "conversation_layer.hpp"

#include <wix/inbox/codec.hpp>

#include "endpoints.hpp"

#include <algorithm>

namespace wix::inbox::detail {
namespace net = boost::asio;

void ConversationLayer::validate(const ConversationCacheOptions& o)
{
    if (o.capacity > 10'000'000)
        throw Exception(makeError(Errc::invalidArgument, "conversationCache.capacity must be in 0..10000000"));
    if (o.timeToLive < std::chrono::seconds(1) || o.timeToLive > std::chrono::hours(24 * 7))
        throw Exception(makeError(Errc::invalidArgument, "conversationCache.timeToLive must be in 1 s..7 days"));
}

ConversationLayer::ConversationLayer(const ConversationCacheOptions& cache, std::shared_ptr<CallPath> path)
    : cacheOptions_(cache)
    , path_(std::move(path))
    , cache_(cache.capacity == 0 ? nullptr : std::make_unique<ConversationCache>(cache))
{
}

bool ConversationLayer::conversationGone(const Error& error)
{
    return error.httpStatus == 404 && error.application() == ApplicationError::conversationNotFound;
}

net::awaitable<Result<GetOrCreateConversationResponse>>
ConversationLayer::getOrCreate(const ParticipantId& participant, const CallOptions& options)
{
    const auto& endpoint = endpoints::getOrCreateConversation;
    if (!cache_)
        return path_->start(endpoint, {participant}, options);
    Request request;
    if (auto error = path_->encode(endpoint, {participant}, request, options))
        return rejected<GetOrCreateConversationResponse>(std::move(*error));
    return resolveCached(shared_from_this(), participant, std::move(request), options);
}

std::size_t ConversationLayer::applyMerge(const std::vector<std::string>& oldConversationIds)
{
    if (!cache_)
        return 0;
    return cache_->forgetConversations(oldConversationIds); // entries of the target stay right
}

ClientStats ConversationLayer::stats() const
{
    ClientStats s = path_->stats();
    if (cache_)
        s.conversationCache = cache_->stats();
    return s;
}

// The cache's single flight, filled by the call of whichever caller leads.
net::awaitable<Result<GetOrCreateConversationResponse>>
ConversationLayer::resolveCached(std::shared_ptr<ConversationLayer> keepAlive, ParticipantId participant,
                                 Request request, CallOptions options)
{
    const bool callerThrowsIfCancelled = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    const auto deadline = Clock::now() + options.timeout.value_or(path_->options().timeout);
    auto key = ConversationCache::keyOf(participant);
    Took took = Took::led;
    auto outcome = co_await cache_->flights().run(
        key, deadline, [&] { return cache_->find(key, Clock::now()); },
        [&] {
            // A caller that waited for another's flight before leading one has less time left.
            options.timeout = std::max(std::chrono::milliseconds(1),
                                       std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
            return fetchConversation(keepAlive, key, participant, std::move(request), options);
        },
        &took);
    if (path_->observed())
        path_->observed().cacheLookup(took);
    co_await net::this_coro::throw_if_cancelled(callerThrowsIfCancelled);
    co_return outcome;
}

// The coroutines below take their arguments by value: each keeps its own copy, as the
// caller's may be gone before it resumes.
net::awaitable<Result<GetOrCreateConversationResponse>>
// cppcheck-suppress passedByValue
ConversationLayer::fetchConversation(std::shared_ptr<ConversationLayer> /*keepAlive*/, std::string key,
                                     // cppcheck-suppress passedByValue
                                     ParticipantId participant, Request request, CallOptions options)
{
    auto outcome = co_await path_->call<GetOrCreateConversationResponse>(
        path_, CallState{std::move(request), options}, endpoints::getOrCreateConversation.decode);
    if (outcome) // before the flight lands: a caller arriving after it finds the entry
        cache_->store(key, participant, outcome->conversation, Clock::now());
    co_return outcome;
}

// The 404 says nothing was done, so even a send may go again.
// cppcheck-suppress passedByValue
net::awaitable<std::optional<std::string>> ConversationLayer::resolveAgain(std::string goneId, bool movable,
                                                                           Clock::time_point deadline)
{
    const auto participant = cache_->forgetConversation(goneId);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (!participant || !movable || left.count() <= 0)
        co_return std::nullopt;
    CallOptions options;
    options.timeout = left;
    auto resolved = co_await getOrCreate(*participant, options);
    if (!resolved)
        co_return std::nullopt;
    auto id = lowerCaseGuid(resolved->conversation.id);
    if (id == lowerCaseGuid(goneId))
        co_return std::nullopt;
    co_return id;
}

} // namespace wix::inbox::detail
