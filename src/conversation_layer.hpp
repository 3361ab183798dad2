// SPDX-License-Identifier: BSL-1.0
// The conversation-cache layer, above the call path: GetOrCreate answered from the cache
// with one request per participant in flight (single flight), and a call whose conversation
// answered 404 CONVERSATION_NOT_FOUND (merged into another) sent once more to the
// participant's conversation resolved afresh, its typed input encoded again for it.
// Without a cache it adds nothing to a call.
#pragma once

#include <wix/inbox/options.hpp>
#include <wix/inbox/stats.hpp>

#include "call_path.hpp"
#include "conversation_cache.hpp"

#include <concepts>
#include <memory>
#include <optional>
#include <string>

namespace wix::inbox::detail {

/// An endpoint input naming one conversation: `Kept` is its owning copy, which a re-aimed
/// call encodes again for another conversation.
template <class In>
concept NamesConversation = requires(const In& in, const typename In::Kept& kept) {
    { in.keep() } -> std::same_as<typename In::Kept>;
    { kept.view() } -> std::same_as<In>;
    { kept.movable() } -> std::same_as<bool>; ///< false: the call belongs to its conversation
};

class ConversationLayer : public std::enable_shared_from_this<ConversationLayer> {
public:
    /// Throws Exception(invalidArgument).
    static void validate(const ConversationCacheOptions& options);

    ConversationLayer(const ConversationCacheOptions& cache, std::shared_ptr<CallPath> path);

    /// Starts a call of `endpoint` (see CallPath::start); with a cache, one that names a
    /// conversation is re-aimed when that conversation is gone.
    template <class In, class Out>
    boost::asio::awaitable<Result<Out>> start(const Endpoint<In, Out>& endpoint, const In& input,
                                              const CallOptions& options)
    {
        if constexpr (NamesConversation<In>) {
            if (cache_) {
                Request request;
                if (auto error = path_->encode(endpoint, input, request, options))
                    return rejected<Out>(std::move(*error));
                return path_->call<Out>(path_, CallState{std::move(request), options}, endpoint.decode,
                                        Reaim<In, Out>{shared_from_this(), &endpoint, input.keep()});
            }
        }
        return path_->start(endpoint, input, options);
    }

    /// GetOrCreate through the cache, if there is one.
    boost::asio::awaitable<Result<GetOrCreateConversationResponse>> getOrCreate(const ParticipantId& participant,
                                                                              const CallOptions& options);

    /// Forgets the entries of the conversations merged away; how many.
    std::size_t applyMerge(const std::vector<std::string>& oldConversationIds);

    const ConversationCacheOptions& cacheOptions() const noexcept { return cacheOptions_; }
    const CallPath& path() const noexcept { return *path_; }
    CallPath& path() noexcept { return *path_; }
    ClientStats stats() const;

private:
    // The hook of a call whose conversation may be gone; holds its input's owning copy.
    template <class In, class Out>
    struct Reaim {
        std::shared_ptr<ConversationLayer> layer;
        const Endpoint<In, Out>* endpoint;
        typename In::Kept input;

        static bool wants(const Error& error) { return conversationGone(error); }

        boost::asio::awaitable<bool> operator()(Request& request, Clock::time_point deadline)
        {
            auto id = co_await layer->resolveAgain(input.conversationId, input.movable(), deadline);
            if (!id)
                co_return false;
            input.conversationId = std::move(*id);
            co_return layer->reencode(*endpoint, input.view(), request);
        }
    };

    static bool conversationGone(const Error& error);

    /// The conversation `goneId` answered 404 CONVERSATION_NOT_FOUND: its cache entries go,
    /// and when the cache knew its participant and the call may go elsewhere (`movable`), the
    /// participant's conversation resolved afresh (lower case); none if it is the same.
    boost::asio::awaitable<std::optional<std::string>> resolveAgain(std::string goneId, bool movable,
                                                                    Clock::time_point deadline);

    /// Rewrites `request` from `input`, keeping its caller's headers and idempotency.
    template <class In, class Out>
    bool reencode(const Endpoint<In, Out>& endpoint, const In& input, Request& request)
    {
        Request fresh;
        path_->describe(endpoint, fresh);
        if (endpoint.encode(input, fresh))
            return false;
        fresh.extraHeaders = std::move(request.extraHeaders);
        fresh.idempotent = request.idempotent;
        request = std::move(fresh);
        cache_->noteReresolved();
        return true;
    }

    boost::asio::awaitable<Result<GetOrCreateConversationResponse>>
    resolveCached(std::shared_ptr<ConversationLayer> keepAlive, ParticipantId participant, Request request,
                  CallOptions options);
    boost::asio::awaitable<Result<GetOrCreateConversationResponse>>
    fetchConversation(std::shared_ptr<ConversationLayer> keepAlive, std::string key, ParticipantId participant,
                      Request request, CallOptions options);

    ConversationCacheOptions cacheOptions_;
    std::shared_ptr<CallPath> path_;
    std::unique_ptr<ConversationCache> cache_; // null: no cache
};

} // namespace wix::inbox::detail
