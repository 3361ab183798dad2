#include "emulator/service.hpp"

#include "emulator/ids.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <optional>
#include <variant>
#include <random>

namespace wix::inbox::emulator {
namespace json = boost::json;
namespace {

constexpr std::string_view apiPrefixes[] = {"/inbox/v2", "/crm/inbox/v2"};

std::string newGuid()
{
    thread_local std::mt19937_64 random{std::random_device{}()};
    const std::uint64_t a = random(), b = random();
    char out[37];
    std::snprintf(out, sizeof out, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                  static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(b & 0xffffffffffffull));
    return out;
}

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

Service::Shard& Service::shardFor(std::string_view key)
{
    return shards_[std::hash<std::string_view>{}(key) % shardCount];
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
    const std::string id = lowerCase(requested);
    Shard& shard = shardFor(id);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.byId.find(id);
    return it != shard.byId.end() && it->second->tenant == tenant ? it->second : nullptr;
}

ServiceResponse Service::getConversation(const RouteCall& call)
{
    const std::string_view requested = call.id;
    const std::string_view tenant = call.request.tenant;
    if (!isGuid(requested))
        return error(400, validationErrorBody("conversationId must be a GUID", "conversationId", "FORMAT"));
    const std::string id = lowerCase(requested);
    Shard& shard = shardFor(id);
    std::shared_ptr<const Conversation> found;
    {
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.byId.find(id); it != shard.byId.end())
            found = it->second;
    }
    if (!found)
        return error(404, applicationErrorBody("Conversation not found", "CONVERSATION_NOT_FOUND"));
    if (found->tenant != tenant)
        return error(403, applicationErrorBody("Conversation belongs to another business", "NOT_OWNED_BY_BUSINESS"));
    return {200, R"({"conversation":)" + found->json + "}", {}};
}

namespace {

// The tenant an admin request acts for: its body's "tenant", else the anonymous one;
// nothing if "tenant" is not a string.
std::optional<std::string> adminTenant(const json::value& root)
{
    const auto* tenant = root.get_object().if_contains("tenant");
    if (!tenant)
        return std::string(ServiceRequest::anonymousTenant);
    if (!tenant->is_string())
        return std::nullopt;
    return std::string(tenant->get_string());
}

int rankOf(std::string_view field)
{
    return field == "anonymousVisitorId" ? 0 : field == "contactId" ? 1 : 2;
}

} // namespace

// "tenant\nfield:id": a newline never appears in a tenant label (it comes from one header).
std::string Service::Identity::key() const
{
    return tenant + "\n" + field + ":" + id;
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
    auto [conversation, isNew] = getOrCreate(std::get<Identity>(parsed));
    return {200, R"({"conversation":)" + conversation->json + R"(,"newConversation":)" + (isNew ? "true}" : "false}"),
            {}};
}

std::pair<std::shared_ptr<const Service::Conversation>, bool> Service::getOrCreate(Identity identity)
{
    std::string contactOfMember;
    {
        // A promoted identity now stands for the participant's current one.
        std::lock_guard lock(identitiesMutex_);
        for (auto it = promotedTo_.find(identity.key()); it != promotedTo_.end(); it = promotedTo_.find(identity.key()))
            identity = it->second;
        if (auto c = memberContacts_.find(identity.key()); c != memberContacts_.end())
            contactOfMember = c->second;
    }
    const std::string key = identity.key();
    Shard& shard = shardFor(key);
    {
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.byParticipant.find(key); it != shard.byParticipant.end())
            return {it->second, false};
    }
    auto created = create(identity, contactOfMember);
    bool isNew = false;
    {
        std::lock_guard lock(shard.mutex);
        auto [it, inserted] = shard.byParticipant.emplace(key, created);
        isNew = inserted;
        created = it->second; // a concurrent caller may have created it first
    }
    if (isNew) {
        {
            Shard& idShard = shardFor(created->id);
            std::lock_guard lock(idShard.mutex);
            idShard.byId.emplace(created->id, created);
        }
        std::vector<std::string> merged;
        {
            std::lock_guard lock(identitiesMutex_);
            if (auto it = pendingMerges_.find(key); it != pendingMerges_.end()) {
                merged = std::move(it->second);
                pendingMerges_.erase(it);
            }
        }
        for (const auto& old : merged)
            messages_.merge(old, created->id);
    }
    return {created, isNew};
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
    {
        std::lock_guard lock(identitiesMutex_);
        promotedTo_[old.key()] = next;
        if (next.field == "memberId" && old.field == "contactId")
            memberContacts_[next.key()] = old.id; // the member keeps the contact it was
    }
    // The old conversation is merged into the participant's next one: its ID is gone.
    const std::string oldKey = old.key();
    std::shared_ptr<const Conversation> merged;
    {
        Shard& shard = shardFor(oldKey);
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.byParticipant.find(oldKey); it != shard.byParticipant.end()) {
            merged = it->second;
            shard.byParticipant.erase(it);
        }
    }
    if (merged) {
        Shard& idShard = shardFor(merged->id);
        std::lock_guard lock(idShard.mutex);
        idShard.byId.erase(merged->id);
    }
    // Its messages go to the next identity's conversation, now or when it is made.
    std::shared_ptr<const Conversation> target;
    {
        Shard& shard = shardFor(next.key());
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.byParticipant.find(next.key()); it != shard.byParticipant.end())
            target = it->second;
    }
    {
        std::lock_guard lock(identitiesMutex_);
        auto waiting = std::move(pendingMerges_[old.key()]);
        pendingMerges_.erase(old.key());
        if (merged)
            waiting.push_back(merged->id);
        if (!target) {
            auto& list = pendingMerges_[next.key()];
            list.insert(list.end(), waiting.begin(), waiting.end());
            waiting.clear();
        }
        for (const auto& id : waiting)
            messages_.merge(id, target->id);
    }
    json::object answer{{"mergedConversationId", merged ? json::value(merged->id) : json::value(nullptr)}};
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
        ++(getOrCreate(std::get<Identity>(parsed)).second ? created : existing);
    }
    return {200, json::serialize(json::object{{"created", created}, {"existing", existing}}), {}};
}

std::shared_ptr<const Service::Conversation> Service::create(const Identity& identity, const std::string& contactOfMember)
{
    const std::string_view field = identity.field, participantId = identity.id;
    auto c = std::make_shared<Conversation>();
    c->id = newGuid();
    c->tenant = identity.tenant;
    json::object participant{{field, participantId}};
    if (field == "memberId") // members always also have a contact
        participant["contactId"] = contactOfMember.empty() ? newGuid() : contactOfMember;
    else if (field == "contactId")
        participant = json::object{{"contactId", participantId}};
    json::object conversation{{"id", c->id},
                              {"participant", std::move(participant)},
                              {"channels", json::array{"CHAT"}},
                              {"businessDisplayData", json::object{{"name", "emulated-business"}}}};
    c->json = json::serialize(conversation);
    return c;
}

void Service::reset()
{
    {
        std::lock_guard lock(identitiesMutex_);
        promotedTo_.clear();
        memberContacts_.clear();
        pendingMerges_.clear();
    }
    for (auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        shard.byParticipant.clear();
        shard.byId.clear();
    }
    messages_.clear();
}

std::size_t Service::conversationCount() const
{
    std::size_t n = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard.mutex);
        n += shard.byParticipant.size();
    }
    return n;
}

} // namespace wix::inbox::emulator
