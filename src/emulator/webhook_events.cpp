// SPDX-License-Identifier: BSL-1.0
#include "emulator/webhook_events.hpp"
#include "emulator/time_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <functional>
#include <random>

namespace wix::inbox::emulator {
namespace json = boost::json;
namespace {

std::string guidFrom(std::uint64_t hi, std::uint64_t lo)
{
    char out[37];
    std::snprintf(out, sizeof out, "%08llx-%04llx-4%03llx-8%03llx-%012llx", static_cast<unsigned long long>(hi >> 32),
                  static_cast<unsigned long long>((hi >> 16) & 0xffff), static_cast<unsigned long long>(hi & 0xfff),
                  static_cast<unsigned long long>(lo >> 52), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return out;
}

std::string randomGuid()
{
    thread_local std::mt19937_64 random{std::random_device{}()};
    const auto hi = random();
    return guidFrom(hi, random());
}

// A stable GUID for a tenant label that names none (a site's app instance, an account).
std::string guidOf(const std::string& label)
{
    const std::hash<std::string> hash;
    return guidFrom(hash(label), hash(label + "#"));
}

// What every event shares: the tenant's instance and account, who caused it, and the domain
// event that carries `body` (its type named again by entityFqdn and slug).
std::string envelope(const std::string& tenantLabel, std::string_view entity, std::string_view slug,
                     const std::string& entityId, json::object body, const json::object& identity)
{
    const json::object domain{{"id", randomGuid()},
                              {"entityFqdn", entity},
                              {"slug", slug},
                              {"entityId", entityId},
                              {"eventTime", isoNow()},
                              {"actionEvent", json::object{{"body", std::move(body)}}}};
    const std::string_view tenant = tenantLabel;
    json::object account{{"accountId", tenant.starts_with("account:") ? std::string(tenant.substr(8))
                                                                      : guidOf("account of " + tenantLabel)}};
    if (tenant.starts_with("site:"))
        account["siteId"] = tenant.substr(5);
    const json::object envelope{
        {"eventType", std::string(entity) + "_" + std::string(slug)},
        {"instanceId", tenant.starts_with("instance:") ? std::string(tenant.substr(9)) : guidOf("instance of " + tenantLabel)},
        {"identity", json::serialize(identity)},
        {"data", json::serialize(domain)},
        {"accountInfo", std::move(account)}};
    return json::serialize(envelope);
}

constexpr std::string_view messageEntity = "wix.crm.inbox.v2.message";

const json::object unknownIdentity{{"identityType", "UNKNOWN"}};

// The participant as the envelope's identity: a visitor or a member is one; a contact is not
// an identity of its own.
json::object identityOf(const ConversationStore::Conversation& c)
{
    const auto& field = c.participant.field;
    if (field == "anonymousVisitorId")
        return {{"identityType", "ANONYMOUS_VISITOR"}, {field, c.participant.id}};
    if (field == "memberId")
        return {{"identityType", "MEMBER"}, {field, c.participant.id}};
    return unknownIdentity;
}

std::string encode(const MergeEvent& e)
{
    json::array old;
    for (const auto& id : e.oldConversationIds)
        old.emplace_back(id);
    return envelope(e.tenant, "wix.crm.inbox.v2.conversation", "conversations_merged", e.targetConversationId,
                    json::object{{"oldConversationIds", std::move(old)}, {"targetConversationId", e.targetConversationId}},
                    unknownIdentity);
}

std::string encode(const MessageEvent& e)
{
    const auto& c = *e.conversation;
    return envelope(c.tenant, messageEntity, e.toBusiness ? "message_sent_to_business" : "message_sent_to_participant",
                    c.id, json::object{{"conversationId", c.id}, {"message", json::parse(e.message)}},
                    e.toBusiness ? identityOf(c) : unknownIdentity);
}

std::string encode(const ButtonEvent& e)
{
    const auto& c = *e.conversation;
    json::object body{{"conversationId", c.id}, {"interactionId", e.interactionId},
                      {"interactedBy", json::parse(c.participantJson)}};
    if (e.appId)
        body["appId"] = *e.appId;
    return envelope(c.tenant, messageEntity, "button_interacted", c.id, std::move(body), identityOf(c));
}

} // namespace

std::string envelopeOf(const WebhookEvent& event)
{
    return std::visit([](const auto& e) { return encode(e); }, event);
}

} // namespace wix::inbox::emulator
