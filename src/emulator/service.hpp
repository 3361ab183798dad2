// SPDX-License-Identifier: BSL-1.0
// The emulated Conversations and Messages services, without I/O: request in, response out
// (reading requests, checking them, writing answers); the data is in the stores. The HTTPS
// server (server.cpp) feeds it; tests and fuzzers can call it directly.
//
// Paths: /inbox/v2/... (as on www.wixapis.com) and /crm/inbox/v2/... (where the official
// JS SDK sends requests for a non-Wix host).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/fwd.hpp>

#include "emulator/conversation_store.hpp"
#include "emulator/list_query.hpp"
#include "emulator/message_store.hpp"
#include "emulator/webhook_events.hpp"

#include <functional>

namespace wix::inbox::emulator {

struct ServiceRequest {
    std::string_view method;
    std::string_view target; ///< Path and query, as received.
    std::string_view body;
    /// Whose data the request reads and writes: as the service keeps each site's apart, a
    /// label per site (an API key's site or account, an OAuth instance, a static token);
    /// requests without credentials share one. The server names it (server.cpp).
    std::string_view tenant = anonymousTenant;
    static constexpr std::string_view anonymousTenant = "anonymous";
};

struct ServiceResponse {
    int status = 200;
    std::string body;
    /// Extra headers besides Content-Type, Content-Length and X-Wix-Request-Id.
    std::vector<std::pair<std::string, std::string>> headers;
};

/// A request matched to an endpoint, with the path's `{id}` segment if it has one.
struct RouteCall {
    const ServiceRequest& request;
    std::string_view id;
};

/// The tenant an admin request acts for: its body's "tenant", else the anonymous one;
/// nothing if "tenant" is not a string. `root` is an object.
std::optional<std::string> adminTenant(const boost::json::value& root);

/// A Wix error envelope with an application error.
std::string applicationErrorBody(std::string_view message, std::string_view code);
/// A Wix error envelope with one field violation.
std::string validationErrorBody(std::string_view message, std::string_view field, std::string_view rule);

class Service {
public:
    /// The service's endpoints: one row each. `path` is under the API prefix (/inbox/v2 as
    /// on www.wixapis.com, or /crm/inbox/v2), `{id}` stands for one segment; `name` is the
    /// endpoint's in Stats::byRoute (beside "admin" and "unknown").
    struct Route {
        std::string_view name;
        std::string_view method;
        std::string_view path;
        ServiceResponse (Service::*handler)(const RouteCall&);
    };
    static const std::array<Route, 4> routes;
    /// The row a request is for: the one of its method and path, or else the first of its
    /// path (answered 405); nothing for a path of no endpoint.
    static std::optional<std::size_t> routeOf(std::string_view method, std::string_view target);

    Service();

    /// Answers an API request (not /_emulator/ admin paths, which the server owns).
    ServiceResponse handle(const ServiceRequest& request);

    /// Admin requests act on one tenant's data: the body's `"tenant"` (a label as in the
    /// stats, e.g. "site:6202c3bb-..." or "instance:..."), else the anonymous tenant.
    ///
    /// Admin: `{"from": ParticipantId, "to": ParticipantId}` promotes a participant
    /// (anonymous visitor -> contact -> member; steps may be skipped). Its conversation is
    /// merged into the one GetOrCreate then returns for either identity, which is new (new
    /// ID, newConversation: true) unless the new identity already had one. The merged
    /// conversation's ID answers 404 CONVERSATION_NOT_FOUND from then on; its messages move
    /// to the new conversation (when it is created, if it does not exist yet), in the order
    /// they were sent.
    ServiceResponse promote(std::string_view body);
    /// Admin: `{"participants": [ParticipantId]}` creates their conversations in bulk.
    ServiceResponse seed(std::string_view body);
    /// Admin: `{"installed": false}` makes the tenant a site without Inbox: its Messages
    /// calls answer 404 NO_INBOX_INSTANCE (ListMessages) and INBOX_INSTANCE_NOT_FOUND
    /// (SendMessage) until `{"installed": true}`.
    ServiceResponse setInbox(std::string_view body);

    /// Admin: `{"participant": ParticipantId, "text": "..."}` plays a message the participant
    /// sends: their conversation (made if need be, as GetOrCreate makes it) gets a basic text
    /// message PARTICIPANT_TO_BUSINESS, sender the participant. Answers {conversationId, message}.
    ServiceResponse participantMessage(std::string_view body);
    /// Admin: `{"conversationId", "messageId", "interactionId"}` plays the participant pressing
    /// the button of that stored template message whose postbackProperties.interactionId it
    /// is. 400 for a malformed body; 404 for a conversation (of another tenant too), a message
    /// or a button that does not exist.
    ServiceResponse pressButton(std::string_view body);

    /// Called (on the request's thread) for each event the service announces: conversations
    /// merged into a target that exists (at a promotion, or when GetOrCreate makes the
    /// conversation they were promised to), a message stored, a button pressed.
    void onEvent(std::function<void(const WebhookEvent&)> notify) { notify_ = std::move(notify); }

    /// Forgets every conversation, message and promotion.
    void reset();
    std::size_t conversationCount() const { return conversations_.size(); }
    std::size_t messageCount() const { return messages_.size(); }

private:
    using Identity = ConversationStore::Identity;
    using Conversation = ConversationStore::Conversation;

    static std::variant<Identity, ServiceResponse> parseParticipant(const boost::json::value* participant,
                                                                    std::string_view path, std::string_view tenant);
    ServiceResponse getConversation(const RouteCall& call);
    ServiceResponse getOrCreateConversation(const RouteCall& call);
    ServiceResponse listMessages(const RouteCall& call);
    ServiceResponse sendMessage(const RouteCall& call);
    /// The participant's conversation; the messages of conversations merged into it move in.
    ConversationStore::Resolved getOrCreate(Identity identity);
    /// The conversation `id` (any case) if it exists and is `tenant`'s.
    std::shared_ptr<const Conversation> conversationOf(std::string_view id, std::string_view tenant);

    /// Stores a message (JSON without its ID, sequence and date) and announces it: the
    /// message as stored, or nothing when the store is full.
    std::optional<std::string> store(const std::shared_ptr<const Conversation>& conversation, bool participantVisible,
                                     bool toBusiness, std::string_view message);
    void announce(const WebhookEvent& event) const
    {
        if (notify_)
            notify_(event);
    }

    /// The tenant's Messages error when it has no Inbox, for `call` ("list" or "send").
    std::optional<ServiceResponse> withoutInbox(std::string_view tenant, std::string_view call);

    ConversationStore conversations_;
    std::mutex inboxMutex_;
    std::unordered_set<std::string> withoutInbox_; // tenants whose site has no Inbox
    MessageStore messages_;
    CursorKey cursorKey_{};
    std::function<void(const WebhookEvent&)> notify_;
};

} // namespace wix::inbox::emulator
