// SPDX-License-Identifier: BSL-1.0
#include "emulator/service.hpp"

#include "emulator/ids.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <variant>
#include <random>

namespace wix::inbox::emulator {
namespace json = boost::json;
namespace {

constexpr std::string_view apiPrefixes[] = {"/inbox/v2", "/crm/inbox/v2"};

ServiceResponse error(int status, std::string body)
{
    return {status, std::move(body), {}};
}

} // namespace

std::string applicationErrorBody(std::string_view message, std::string_view code)
{
    json::object app{{"code", code}, {"description", message}, {"data", json::object()}};
    json::object envelope{{"message", message}, {"details", json::object{{"applicationError", std::move(app)}}}};
    return json::serialize(envelope);
}

std::string validationErrorBody(std::string_view message, std::string_view field, std::string_view rule)
{
    json::object violation{{"field", field}, {"description", message}, {"violatedRule", rule},
                           {"ruleName", rule}, {"data", json::object()}};
    json::object validation{{"fieldViolations", json::array{std::move(violation)}}};
    json::object envelope{{"message", message}, {"details", json::object{{"validationError", std::move(validation)}}}};
    return json::serialize(envelope);
}

Service::Service()
{
    std::random_device random;
    for (auto& byte : cursorKey_)
        byte = static_cast<unsigned char>(random());
}

const std::array<Service::Route, 4> Service::routes{{
    {"getOrCreateConversation", "POST", "/conversations", &Service::getOrCreateConversation},
    {"getConversation", "GET", "/conversations/{id}", &Service::getConversation},
    {"listMessages", "GET", "/messages", &Service::listMessages},
    {"sendMessage", "POST", "/messages", &Service::sendMessage},
}};

namespace {

// The path after one of the API prefixes, without its query and a trailing slash.
std::optional<std::string_view> apiPath(std::string_view target)
{
    std::string_view path = target.substr(0, target.find('?'));
    for (std::string_view prefix : apiPrefixes) {
        if (!path.starts_with(prefix))
            continue;
        path.remove_prefix(prefix.size());
        if (path.size() > 1 && path.back() == '/')
            path.remove_suffix(1);
        return path;
    }
    return std::nullopt;
}

// Whether `path` has the shape of `pattern`; `id` gets the segment `{id}` stands for.
bool matches(std::string_view pattern, std::string_view path, std::string_view& id)
{
    while (!pattern.empty() && !path.empty()) {
        const auto patternEnd = std::min(pattern.find('/', 1), pattern.size());
        const auto pathEnd = std::min(path.find('/', 1), path.size());
        const auto segment = path.substr(0, pathEnd);
        if (pattern.substr(0, patternEnd) == "/{id}") {
            if (segment.size() < 2)
                return false;
            id = segment.substr(1);
        } else if (pattern.substr(0, patternEnd) != segment) {
            return false;
        }
        pattern.remove_prefix(patternEnd);
        path.remove_prefix(pathEnd);
    }
    return pattern.empty() && path.empty();
}

} // namespace

std::optional<std::size_t> Service::routeOf(std::string_view method, std::string_view target)
{
    const auto path = apiPath(target);
    if (!path)
        return std::nullopt;
    std::optional<std::size_t> ofPath;
    for (std::size_t i = 0; i < routes.size(); ++i) {
        std::string_view id;
        if (!matches(routes[i].path, *path, id))
            continue;
        if (routes[i].method == method)
            return i;
        if (!ofPath)
            ofPath = i;
    }
    return ofPath;
}

ServiceResponse Service::handle(const ServiceRequest& request)
{
    const auto index = routeOf(request.method, request.target);
    if (!index)
        return error(404, applicationErrorBody("no such endpoint", "NOT_FOUND"));
    const Route& route = routes[*index];
    if (route.method != request.method)
        return error(405, applicationErrorBody("method not allowed", "METHOD_NOT_ALLOWED"));
    RouteCall call{request, {}};
    matches(route.path, *apiPath(request.target), call.id);
    // The JS SDK repeats ?conversationId= after the path's ID: accepted and ignored, the
    // path is the truth.
    return (this->*route.handler)(call);
}

std::shared_ptr<const Service::Conversation> Service::conversationOf(std::string_view requested, std::string_view tenant)
{
    auto found = conversations_.find(lowerCase(requested));
    return found && found->tenant == tenant ? found : nullptr;
}

ServiceResponse Service::getConversation(const RouteCall& call)
{
    const std::string_view requested = call.id;
    const std::string_view tenant = call.request.tenant;
    if (!isGuid(requested))
        return error(400, validationErrorBody("conversationId must be a GUID", "conversationId", "FORMAT"));
    const auto found = conversations_.find(lowerCase(requested));
    if (!found)
        return error(404, applicationErrorBody("Conversation not found", "CONVERSATION_NOT_FOUND"));
    if (found->tenant != tenant)
        return error(403, applicationErrorBody("Conversation belongs to another business", "NOT_OWNED_BY_BUSINESS"));
    return {200, R"({"conversation":)" + found->json + "}", {}};
}

namespace {

int rankOf(std::string_view field)
{
    return field == "anonymousVisitorId" ? 0 : field == "contactId" ? 1 : 2;
}

} // namespace

std::optional<std::string> adminTenant(const json::value& root)
{
    const auto* tenant = root.get_object().if_contains("tenant");
    if (!tenant)
        return std::string(ServiceRequest::anonymousTenant);
    if (!tenant->is_string())
        return std::nullopt;
    return std::string(tenant->get_string());
}

std::variant<Service::Identity, ServiceResponse> Service::parseParticipant(const json::value* participant,
                                                                          std::string_view path, std::string_view tenant)
{
    const std::string where(path);
    if (!participant || !participant->is_object())
        return error(400, validationErrorBody(where + " is required", where, "REQUIRED_FIELD"));
    Identity identity;
    int given = 0;
    for (std::string_view candidate : {"contactId", "anonymousVisitorId", "memberId"}) {
        const auto* v = participant->get_object().if_contains(candidate);
        if (!v || v->is_null())
            continue;
        ++given;
        if (!v->is_string() || !isGuid(v->get_string()))
            return error(400, validationErrorBody(std::string(candidate) + " must be a GUID",
                                                  where + "." + std::string(candidate), "FORMAT"));
        identity = {std::string(candidate), lowerCase(v->get_string()), std::string(tenant)};
    }
    if (given != 1)
        return error(400, validationErrorBody(where + " needs exactly one of contactId, anonymousVisitorId, memberId",
                                              where, "ONE_OF"));
    return identity;
}

ServiceResponse Service::getOrCreateConversation(const RouteCall& call)
{
    const std::string_view body = call.request.body;
    const std::string_view tenant = call.request.tenant;
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 32;
    const json::value root = json::parse(body, ec, {}, options);
    if (ec || !root.is_object())
        return error(400, validationErrorBody("request body is not a JSON object", "participantId", "REQUIRED_FIELD"));
    auto parsed = parseParticipant(root.get_object().if_contains("participantId"), "participantId", tenant);
    if (auto* refused = std::get_if<ServiceResponse>(&parsed))
        return std::move(*refused);
    const auto resolved = getOrCreate(std::get<Identity>(parsed));
    return {200, R"({"conversation":)" + resolved.conversation->json + R"(,"newConversation":)"
                     + (resolved.created ? "true}" : "false}"),
            {}};
}

ConversationStore::Resolved Service::getOrCreate(Identity identity)
{
    auto resolved = conversations_.getOrCreate(std::move(identity));
    for (const auto& old : resolved.mergedInto)
        messages_.merge(old, resolved.conversation->id);
    if (!resolved.mergedInto.empty())
        announce(MergeEvent{resolved.conversation->tenant, resolved.mergedInto, resolved.conversation->id});
    return resolved;
}

ServiceResponse Service::promote(std::string_view body)
{
    boost::system::error_code ec;
    const json::value root = json::parse(body, ec);
    if (ec || !root.is_object())
        return error(400, validationErrorBody("body must be {\"from\": ParticipantId, \"to\": ParticipantId}", "from",
                                              "REQUIRED_FIELD"));
    const auto tenant = adminTenant(root);
    if (!tenant)
        return error(400, validationErrorBody("tenant must be a string", "tenant", "FORMAT"));
    auto from = parseParticipant(root.get_object().if_contains("from"), "from", *tenant);
    if (auto* refused = std::get_if<ServiceResponse>(&from))
        return std::move(*refused);
    auto to = parseParticipant(root.get_object().if_contains("to"), "to", *tenant);
    if (auto* refused = std::get_if<ServiceResponse>(&to))
        return std::move(*refused);
    const auto& old = std::get<Identity>(from);
    const auto& next = std::get<Identity>(to);
    if (rankOf(next.field) <= rankOf(old.field))
        return error(400, validationErrorBody("a participant is promoted visitor -> contact -> member only", "to",
                                              "PROMOTION_ORDER"));
    const auto promotion = conversations_.promote(old, next);
    for (const auto& id : promotion.mergeNow)
        messages_.merge(id, promotion.target);
    if (!promotion.mergeNow.empty())
        announce(MergeEvent{old.tenant, promotion.mergeNow, promotion.target});
    json::object answer{{"mergedConversationId", promotion.mergedConversationId ? json::value(*promotion.mergedConversationId)
                                                                                : json::value(nullptr)}};
    return {200, json::serialize(answer), {}};
}

ServiceResponse Service::seed(std::string_view body)
{
    boost::system::error_code ec;
    const json::value root = json::parse(body, ec);
    const auto* list = (!ec && root.is_object()) ? root.get_object().if_contains("participants") : nullptr;
    if (!list || !list->is_array())
        return error(400, validationErrorBody("body must be {\"participants\": [ParticipantId]}", "participants",
                                              "REQUIRED_FIELD"));
    const auto tenant = adminTenant(root);
    if (!tenant)
        return error(400, validationErrorBody("tenant must be a string", "tenant", "FORMAT"));
    std::uint64_t created = 0, existing = 0;
    for (const auto& p : list->get_array()) {
        auto parsed = parseParticipant(&p, "participants[]", *tenant);
        if (auto* refused = std::get_if<ServiceResponse>(&parsed))
            return std::move(*refused);
        ++(getOrCreate(std::get<Identity>(parsed)).created ? created : existing);
    }
    return {200, json::serialize(json::object{{"created", created}, {"existing", existing}}), {}};
}

ServiceResponse Service::setInbox(std::string_view body)
{
    boost::system::error_code ec;
    const json::value root = json::parse(body, ec);
    const auto* installed = (!ec && root.is_object()) ? root.get_object().if_contains("installed") : nullptr;
    if (!installed || !installed->is_bool())
        return error(400, validationErrorBody("body must be {\"installed\": true|false}", "installed", "REQUIRED_FIELD"));
    const auto tenant = adminTenant(root);
    if (!tenant)
        return error(400, validationErrorBody("tenant must be a string", "tenant", "FORMAT"));
    std::lock_guard lock(inboxMutex_);
    if (installed->get_bool())
        withoutInbox_.erase(*tenant);
    else
        withoutInbox_.insert(*tenant);
    return {200, json::serialize(json::object{{"tenant", *tenant}, {"installed", installed->get_bool()}}), {}};
}

std::optional<ServiceResponse> Service::withoutInbox(std::string_view tenant, std::string_view call)
{
    std::lock_guard lock(inboxMutex_);
    if (!withoutInbox_.contains(std::string(tenant)))
        return std::nullopt;
    return call == "list" ? error(404, applicationErrorBody("The site has no Inbox", "NO_INBOX_INSTANCE"))
                          : error(404, applicationErrorBody("The site's Inbox was not found", "INBOX_INSTANCE_NOT_FOUND"));
}

void Service::reset()
{
    conversations_.clear();
    messages_.clear();
    std::lock_guard lock(inboxMutex_);
    withoutInbox_.clear();
}

} // namespace wix::inbox::emulator
