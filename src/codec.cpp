#include <wix/inbox/codec.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <optional>

namespace wix::inbox {
namespace json = boost::json;
namespace {

constexpr std::size_t maxJsonDepth = 64;

// Reads fields of one JSON object, naming them by their full path in errors. The path is
// made only for an error: a reader knows the reader and the key it was found under.
class ObjectReader {
public:
    explicit ObjectReader(const json::object& o) : object_(o) {}
    ObjectReader(const json::object& o, const ObjectReader& parent, std::string_view key)
        : object_(o), parent_(&parent), key_(key) {}

    const json::value* find(std::string_view key) const
    {
        const auto* v = object_.if_contains(key);
        return (v && !v->is_null()) ? v : nullptr;
    }

    std::string pathOf(std::string_view key) const
    {
        return parent_ ? parent_->pathOf(key_) + "." + std::string(key) : std::string(key);
    }

    Result<std::string> requiredString(std::string_view key) const
    {
        const auto* v = find(key);
        if (!v)
            return makeError(Errc::decodeError, "missing field '" + pathOf(key) + "'");
        if (!v->is_string())
            return makeError(Errc::decodeError, "field '" + pathOf(key) + "' is not a string");
        return std::string(v->get_string());
    }

    Result<std::optional<std::string>> optionalString(std::string_view key) const
    {
        const auto* v = find(key);
        if (!v)
            return std::optional<std::string>{};
        if (!v->is_string())
            return makeError(Errc::decodeError, "field '" + pathOf(key) + "' is not a string");
        return std::optional<std::string>(std::string(v->get_string()));
    }

    Result<ObjectReader> requiredObject(std::string_view key) const
    {
        const auto* v = find(key);
        if (!v)
            return makeError(Errc::decodeError, "missing field '" + pathOf(key) + "'");
        if (!v->is_object())
            return makeError(Errc::decodeError, "field '" + pathOf(key) + "' is not an object");
        return ObjectReader(v->get_object(), *this, key);
    }

private:
    const json::object& object_;
    const ObjectReader* parent_ = nullptr; // null for the body's root object
    std::string_view key_;
};

// Moves a decoded value into `into`; keeps the first failure.
template <class T, class U>
bool take(Result<T> r, U& into, std::optional<Error>& failure)
{
    if (!r) {
        failure = std::move(r).error();
        return false;
    }
    into = std::move(*r);
    return true;
}

Result<IdentificationData> decodeIdentification(const ObjectReader& r)
{
    IdentificationData d;
    std::optional<Error> failure;
    if (!take(r.optionalString("anonymousVisitorId"), d.anonymousVisitorId, failure)
        || !take(r.optionalString("memberId"), d.memberId, failure)
        || !take(r.optionalString("contactId"), d.contactId, failure))
        return *failure;
    return d;
}

Result<ConversationDisplayData> decodeDisplayData(const ObjectReader& r, bool nameRequired)
{
    ConversationDisplayData d;
    std::optional<Error> failure;
    const bool named = nameRequired ? take(r.requiredString("name"), d.name, failure)
                                    : take(r.optionalString("name"), d.name, failure);
    if (!named || !take(r.optionalString("imageUrl"), d.imageUrl, failure))
        return *failure;
    return d;
}

Result<Conversation> decodeConversation(const ObjectReader& r)
{
    Conversation c;
    std::optional<Error> failure;
    auto participant = r.requiredObject("participant");
    if (!take(r.requiredString("id"), c.id, failure) || !participant
        || !take(decodeIdentification(*participant), c.participant, failure))
        return failure ? *failure : participant.error();

    const auto* channels = r.find("channels");
    if (!channels)
        return makeError(Errc::decodeError, "missing field '" + r.pathOf("channels") + "'");
    if (!channels->is_array())
        return makeError(Errc::decodeError, "field '" + r.pathOf("channels") + "' is not an array");
    for (const auto& ch : channels->get_array()) {
        if (!ch.is_string())
            return makeError(Errc::decodeError, "field '" + r.pathOf("channels") + "' holds a non-string");
        c.channels.push_back(ChannelType::fromWire(ch.get_string()));
    }

    auto business = r.requiredObject("businessDisplayData");
    if (!business)
        return business.error();
    if (!take(decodeDisplayData(*business, true), c.businessDisplayData, failure))
        return *failure;
    if (r.find("participantDisplayData")) {
        auto display = r.requiredObject("participantDisplayData");
        if (!display)
            return display.error();
        if (!take(decodeDisplayData(*display, false), c.participantDisplayData, failure))
            return *failure;
    }
    return c;
}

// Parses a response body into a JSON object, with a bounded nesting depth. The parser's
// stack and the document live in buffers on this stack: a body of the usual size is
// decoded without allocating (larger ones fall back to the heap).
template <class F>
auto withRootObject(std::string_view body, F&& decode) -> decltype(decode(std::declval<ObjectReader>()))
{
    unsigned char parserStack[1024];
    unsigned char document[4096];
    json::monotonic_resource resource(document, sizeof document);
    json::parse_options options;
    options.max_depth = maxJsonDepth;
    json::parser parser(json::storage_ptr(), options, parserStack);
    parser.reset(&resource);
    boost::system::error_code ec;
    parser.write(body.data(), body.size(), ec);
    if (ec)
        return makeError(Errc::decodeError, "response body is not valid JSON (" + ec.message() + ")");
    const json::value root = parser.release();
    if (!root.is_object())
        return makeError(Errc::decodeError, "response body is not a JSON object");
    return decode(ObjectReader(root.get_object()));
}

void putOptional(json::object& o, std::string_view key, const std::optional<std::string>& v)
{
    if (v)
        o[key] = *v;
}

json::object toJson(const ConversationDisplayData& d)
{
    json::object o;
    putOptional(o, "name", d.name);
    putOptional(o, "imageUrl", d.imageUrl);
    return o;
}

} // namespace

json::object toJson(const ParticipantId& p)
{
    json::object o;
    o[p.wireField()] = p.id();
    return o;
}

json::object toJson(const IdentificationData& d)
{
    json::object o;
    putOptional(o, "anonymousVisitorId", d.anonymousVisitorId);
    putOptional(o, "memberId", d.memberId);
    putOptional(o, "contactId", d.contactId);
    return o;
}

json::object toJson(const Conversation& c)
{
    json::object o;
    o["id"] = c.id;
    o["participant"] = toJson(c.participant);
    json::array channels;
    for (const auto& ch : c.channels)
        channels.emplace_back(ch.wireName());
    o["channels"] = std::move(channels);
    o["businessDisplayData"] = toJson(c.businessDisplayData);
    if (c.participantDisplayData)
        o["participantDisplayData"] = toJson(*c.participantDisplayData);
    return o;
}

json::object toJson(const GetOrCreateConversationResponse& r)
{
    json::object o;
    o["conversation"] = toJson(r.conversation);
    o["newConversation"] = r.newConversation;
    return o;
}

std::string encodeGetOrCreateConversationRequest(const ParticipantId& p)
{
    // Written directly: a document built only to be serialized costs 6 allocations a call.
    std::string body;
    body.reserve(64 + p.id().size());
    body.append(R"({"participantId":{")");
    body.append(p.wireField()).append(R"(":)").append(json::serialize(json::string_view(p.id()))).append("}}");
    return body;
}

Result<Conversation> decodeGetConversationResponse(std::string_view body)
{
    return withRootObject(body, [](const ObjectReader& root) -> Result<Conversation> {
        auto conversation = root.requiredObject("conversation");
        if (!conversation)
            return conversation.error();
        return decodeConversation(*conversation);
    });
}

Result<GetOrCreateConversationResponse> decodeGetOrCreateConversationResponse(std::string_view body)
{
    return withRootObject(body, [](const ObjectReader& root) -> Result<GetOrCreateConversationResponse> {
        auto conversationObject = root.requiredObject("conversation");
        if (!conversationObject)
            return conversationObject.error();
        auto conversation = decodeConversation(*conversationObject);
        if (!conversation)
            return conversation.error();
        const auto* created = root.find("newConversation");
        if (!created)
            return makeError(Errc::decodeError, "missing field 'newConversation'");
        if (!created->is_bool())
            return makeError(Errc::decodeError, "field 'newConversation' is not a boolean");
        return GetOrCreateConversationResponse{std::move(*conversation), created->get_bool()};
    });
}

void decodeErrorBody(std::string_view body, Error& into)
{
    json::parse_options options;
    options.max_depth = maxJsonDepth;
    boost::system::error_code ec;
    const json::value root = json::parse(body, ec, {}, options);
    const json::object* envelope = (!ec && root.is_object()) ? &root.get_object() : nullptr;
    if (!envelope) {
        into.message = body.empty() ? "empty error body" : "error body is not the Wix error envelope";
        return;
    }
    auto stringAt = [](const json::object& o, std::string_view key) -> std::string {
        const auto* v = o.if_contains(key);
        return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
    };
    auto objectAt = [](const json::object& o, std::string_view key) -> const json::object* {
        const auto* v = o.if_contains(key);
        return (v && v->is_object()) ? &v->get_object() : nullptr;
    };
    into.message = stringAt(*envelope, "message");
    const auto* details = objectAt(*envelope, "details");
    if (!details)
        return;
    if (const auto* app = objectAt(*details, "applicationError")) {
        into.applicationCode = stringAt(*app, "code");
        if (into.message.empty())
            into.message = stringAt(*app, "description");
    }
    if (const auto* validation = objectAt(*details, "validationError")) {
        const auto* violations = validation->if_contains("fieldViolations");
        if (violations && violations->is_array()) {
            for (const auto& v : violations->get_array()) {
                if (!v.is_object())
                    continue;
                const auto& o = v.get_object();
                into.fieldViolations.push_back(
                    {stringAt(o, "field"), stringAt(o, "description"), stringAt(o, "violatedRule"),
                     stringAt(o, "ruleName")});
            }
        }
    }
}

} // namespace wix::inbox
