// SPDX-License-Identifier: BSL-1.0
// The Client's public face: each method hands its endpoint's descriptor and input to the
// conversation layer (conversation_layer.hpp), which runs it on the call path (call_path.hpp).
#include <wix/inbox/client.hpp>
#include <wix/inbox/webhook_model.hpp>

#include "conversation_layer.hpp"
#include "endpoints.hpp"

namespace wix::inbox {
namespace net = boost::asio;

namespace {

ClientOptions validated(ClientOptions o)
{
    detail::validateCallOptions(o);
    detail::ConversationLayer::validate(o.conversationCache);
    return o;
}

} // namespace

class Client::Impl : public detail::ConversationLayer {
public:
    Impl(net::any_io_executor executor, const ClientOptions& options)
        : ConversationLayer(options.conversationCache, std::make_shared<detail::CallPath>(std::move(executor), options))
    {
    }

    /// A tenant's Impl over `parent`'s transport and pool: the same options but its
    /// credentials and conversation cache.
    Impl(Impl& parent, Credentials credentials, const ConversationCacheOptions& cache)
        : ConversationLayer(cache, std::make_shared<detail::CallPath>(parent.path(), std::move(credentials)))
    {
    }
};

Client::Client(net::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), validated(std::move(options))))
{
}

Client::~Client()
{
    if (impl_)
        impl_->path().shutdown();
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&& other) noexcept
{
    if (this != &other) {
        if (impl_)
            impl_->path().shutdown();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

void Client::close()
{
    if (impl_)
        impl_->path().shutdown(false);
}

Client Client::forTenant(Credentials credentials) const
{
    return forTenant(std::move(credentials), impl_->cacheOptions());
}

Client Client::forTenant(Credentials credentials, const ConversationCacheOptions& cache) const
{
    detail::ConversationLayer::validate(cache);
    Client tenant;
    tenant.impl_ = std::make_shared<Impl>(*impl_, std::move(credentials), cache);
    return tenant;
}

std::size_t Client::applyMerge(const webhooks::ConversationsMerged& event)
{
    return impl_->applyMerge(event.oldConversationIds);
}

ClientStats Client::stats() const
{
    return impl_->stats();
}

// Not coroutines themselves: a call's state lives in one frame (CallPath::call), which keeps
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

std::string_view version() noexcept
{
    return WIX_INBOX_VERSION;
}

} // namespace wix::inbox
