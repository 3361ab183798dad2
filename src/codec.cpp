#include <wix/inbox/codec.hpp>

#include "codec_paths.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
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

// IDs from a server end up in paths and in the caller's storage: one that is not a GUID
// (say "../../etc/passwd") is a decode error, not a value.
Result<std::string> requireGuid(Result<std::string> id, const ObjectReader& r, std::string_view key)
{
    if (id && !isValidGuid(*id))
        return makeError(Errc::decodeError, "field '" + r.pathOf(key) + "' is not a GUID");
    return id;
}

Result<std::optional<std::string>> optionalGuid(const ObjectReader& r, std::string_view key)
{
    auto id = r.optionalString(key);
    if (id && *id && !isValidGuid(**id))
        return makeError(Errc::decodeError, "field '" + r.pathOf(key) + "' is not a GUID");
    return id;
}

Result<IdentificationData> decodeIdentification(const ObjectReader& r)
{
    IdentificationData d;
    std::optional<Error> failure;
    if (!take(optionalGuid(r, "anonymousVisitorId"), d.anonymousVisitorId, failure)
        || !take(optionalGuid(r, "memberId"), d.memberId, failure)
        || !take(optionalGuid(r, "contactId"), d.contactId, failure))
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
    if (!take(requireGuid(r.requiredString("id"), r, "id"), c.id, failure) || !participant
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

// The fast path of response decoding: a SAX handler that fills the model straight from the
// parser's events, with no document in between. It takes only the regular case: valid JSON
// with every field the contract guarantees, each of its type and given once. At anything
// else it gives up, and the document decoder above, which names the problem, decides: both
// paths then agree on every body by construction, and errors cost what they did.
class ResponseHandler {
    using error_code = boost::system::error_code;
    using string_view = json::string_view;

public:
    static constexpr std::size_t max_object_size = -1;
    static constexpr std::size_t max_array_size = -1;
    static constexpr std::size_t max_key_size = -1;
    static constexpr std::size_t max_string_size = -1;

    explicit ResponseHandler(GetOrCreateConversationResponse& out) : out_(out) {}

    /// After a complete parse: true if every required field was given, and every ID is a
    /// GUID (the document decoder names the one that is not).
    bool complete(bool newConversationRequired) const
    {
        const auto& c = out_.conversation;
        const auto guidOrAbsent = [](const std::optional<std::string>& id) { return !id || isValidGuid(*id); };
        if (!isValidGuid(c.id) || !guidOrAbsent(c.participant.anonymousVisitorId)
            || !guidOrAbsent(c.participant.memberId) || !guidOrAbsent(c.participant.contactId))
            return false;
        const std::uint32_t required = bit(Field::conversation) | bit(Field::id) | bit(Field::participant)
                                         | bit(Field::channels) | bit(Field::business) | bit(Field::businessName);
        const std::uint32_t set = given_ & required;
        return set == required && (!newConversationRequired || (given_ & bit(Field::newConversation)) != 0);
    }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code& ec)
    {
        Frame next = Frame::ignored;
        if (depth_ == 0) {
            next = Frame::root;
        } else if (top() == Frame::channels) {
            return giveUp(ec); // a channel is a string
        } else if (top() != Frame::ignored) {
            switch (slot_) {
            case Field::none: break;
            case Field::conversation: next = Frame::conversation; break;
            case Field::participant: next = Frame::participant; break;
            case Field::business: next = Frame::business; break;
            case Field::display:
                out_.conversation.participantDisplayData.emplace();
                next = Frame::display;
                break;
            default: return giveUp(ec);
            }
            if (next != Frame::ignored && !give(slot_, ec))
                return false;
        }
        return push(next, ec);
    }
    bool on_object_end(std::size_t, error_code&) { return pop(); }

    bool on_array_begin(error_code& ec)
    {
        if (depth_ == 0 || top() == Frame::channels)
            return giveUp(ec);
        if (skipped())
            return push(Frame::ignored, ec);
        if (slot_ != Field::channels || !give(slot_, ec))
            return giveUp(ec);
        return push(Frame::channels, ec);
    }
    bool on_array_end(std::size_t, error_code&) { return pop(); }

    bool on_key_part(string_view s, std::size_t, error_code&)
    {
        key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(string_view s, std::size_t, error_code&)
    {
        std::string_view key(s.data(), s.size());
        if (!key_.empty())
            key = key_.append(s.data(), s.size());
        slot_ = fieldOf(top(), key);
        key_.clear();
        return true;
    }

    bool on_string_part(string_view s, std::size_t, error_code& ec) { return string(s, false, ec); }
    bool on_string(string_view s, std::size_t, error_code& ec) { return string(s, true, ec); }

    bool on_number_part(string_view, error_code&) { return true; }
    bool on_int64(std::int64_t, string_view, error_code& ec) { return scalar(ec); }
    bool on_uint64(std::uint64_t, string_view, error_code& ec) { return scalar(ec); }
    bool on_double(double, string_view, error_code& ec) { return scalar(ec); }
    bool on_bool(bool b, error_code& ec)
    {
        if (top() == Frame::root && slot_ == Field::newConversation) {
            out_.newConversation = b;
            return give(slot_, ec);
        }
        return scalar(ec);
    }
    bool on_null(error_code& ec)
    {
        // A null field is an absent one; a null among the channels is not a channel.
        if (top() == Frame::channels)
            return giveUp(ec);
        return skipped() || see(slot_, ec);
    }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }

private:
    enum class Frame : std::uint8_t { root, conversation, participant, business, display, channels, ignored };
    enum class Field : std::uint8_t {
        none, conversation, newConversation, id, participant, channels, business, display,
        visitorId, memberId, contactId, businessName, businessImage, displayName, displayImage
    };
    static constexpr std::uint32_t bit(Field f) { return std::uint32_t{1} << static_cast<unsigned>(f); }

    static Field fieldOf(Frame frame, std::string_view key)
    {
        switch (frame) {
        case Frame::root:
            return key == "conversation" ? Field::conversation
                 : key == "newConversation" ? Field::newConversation : Field::none;
        case Frame::conversation:
            return key == "id" ? Field::id
                 : key == "participant" ? Field::participant
                 : key == "channels" ? Field::channels
                 : key == "businessDisplayData" ? Field::business
                 : key == "participantDisplayData" ? Field::display : Field::none;
        case Frame::participant:
            return key == "anonymousVisitorId" ? Field::visitorId
                 : key == "memberId" ? Field::memberId
                 : key == "contactId" ? Field::contactId : Field::none;
        case Frame::business:
            return key == "name" ? Field::businessName : key == "imageUrl" ? Field::businessImage : Field::none;
        case Frame::display:
            return key == "name" ? Field::displayName : key == "imageUrl" ? Field::displayImage : Field::none;
        default: return Field::none;
        }
    }

    // Where a string value of `slot_` goes; null for a field that is not a string.
    std::string* stringTarget()
    {
        auto& c = out_.conversation;
        auto& display = c.participantDisplayData;
        switch (slot_) {
        case Field::id: return &c.id;
        case Field::visitorId: return &c.participant.anonymousVisitorId.emplace();
        case Field::memberId: return &c.participant.memberId.emplace();
        case Field::contactId: return &c.participant.contactId.emplace();
        case Field::businessName: return &c.businessDisplayData.name.emplace();
        case Field::businessImage: return &c.businessDisplayData.imageUrl.emplace();
        case Field::displayName: return &display->name.emplace();
        case Field::displayImage: return &display->imageUrl.emplace();
        default: return nullptr;
        }
    }

    bool string(string_view s, bool last, error_code& ec)
    {
        if (skipped())
            return true;
        if (top() == Frame::channels) {
            value_.append(s.data(), s.size());
            if (last) {
                out_.conversation.channels.push_back(ChannelType::fromWire(value_));
                value_.clear();
            }
            return true;
        }
        if (!target_) { // the string's first part
            if (!give(slot_, ec))
                return false;
            target_ = stringTarget();
            if (!target_)
                return giveUp(ec);
        }
        target_->append(s.data(), s.size());
        if (last)
            target_ = nullptr;
        return true;
    }

    // A number, or a boolean other than newConversation: fine only where nothing is read.
    bool scalar(error_code& ec)
    {
        return skipped() || giveUp(ec);
    }

    // Marks a field as seen (null) or given (a value); a field seen twice is left to the
    // document decoder.
    bool see(Field f, error_code& ec)
    {
        if ((seen_ & bit(f)) != 0)
            return giveUp(ec);
        seen_ |= bit(f);
        return true;
    }
    bool give(Field f, error_code& ec)
    {
        given_ |= bit(f);
        return see(f, ec);
    }

    bool push(Frame f, error_code& ec)
    {
        if (depth_ == frames_.size())
            return giveUp(ec);
        frames_[depth_++] = f;
        slot_ = Field::none;
        return true;
    }
    bool pop()
    {
        --depth_;
        slot_ = Field::none;
        return true;
    }
    Frame top() const { return depth_ == 0 ? Frame::ignored : frames_[depth_ - 1]; }
    // The value at hand is not read: it is inside an ignored value, or under a key we do not
    // read (a channel has no key: it is always read).
    bool skipped() const { return top() == Frame::ignored || (top() != Frame::channels && slot_ == Field::none); }

    static bool giveUp(error_code& ec)
    {
        ec = json::error::exception; // any error stops the parser
        return false;
    }

    GetOrCreateConversationResponse& out_;
    std::array<Frame, maxJsonDepth + 1> frames_{};
    std::size_t depth_ = 0;
    Field slot_ = Field::none;
    std::uint32_t seen_ = 0;
    std::uint32_t given_ = 0;
    std::string key_;   // a key given in parts
    std::string value_; // a channel given in parts
    std::string* target_ = nullptr; // where the string being given in parts goes
};

} // namespace

bool detail::decodeRegular(std::string_view body, bool newConversationRequired, GetOrCreateConversationResponse& out)
{
    json::parse_options options;
    options.max_depth = maxJsonDepth;
    json::basic_parser<ResponseHandler> parser(options, out);
    boost::system::error_code ec;
    const std::size_t used = parser.write_some(false, body.data(), body.size(), ec);
    return !ec && used == body.size() && parser.done() && parser.handler().complete(newConversationRequired);
}

namespace {

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
    const std::string& id = p.id();
    const bool plain = std::all_of(id.begin(), id.end(), [](char c) {
        return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
    });
    std::string body;
    body.reserve(64 + id.size());
    body.append(R"({"participantId":{")").append(p.wireField()).append(R"(":)");
    if (plain) { // as every valid ID is: no escaping to do; GUIDs go in lower case
        const auto at = body.size() + 1;
        body.append("\"").append(id).append("\"");
        std::transform(body.begin() + static_cast<std::ptrdiff_t>(at), body.end() - 1, body.begin() + static_cast<std::ptrdiff_t>(at),
                       [](char c) { return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c; });
    } else {
        body.append(json::serialize(json::string_view(id)));
    }
    body.append("}}");
    return body;
}

namespace detail {

Result<GetOrCreateConversationResponse> decodeByDocument(std::string_view body, bool newConversationRequired)
{
    return withRootObject(body, [&](const ObjectReader& root) -> Result<GetOrCreateConversationResponse> {
        auto conversationObject = root.requiredObject("conversation");
        if (!conversationObject)
            return conversationObject.error();
        auto conversation = decodeConversation(*conversationObject);
        if (!conversation)
            return conversation.error();
        if (!newConversationRequired)
            return GetOrCreateConversationResponse{std::move(*conversation), false};
        const auto* created = root.find("newConversation");
        if (!created)
            return makeError(Errc::decodeError, "missing field 'newConversation'");
        if (!created->is_bool())
            return makeError(Errc::decodeError, "field 'newConversation' is not a boolean");
        return GetOrCreateConversationResponse{std::move(*conversation), created->get_bool()};
    });
}

} // namespace detail

Result<Conversation> decodeGetConversationResponse(std::string_view body)
{
    GetOrCreateConversationResponse r;
    if (detail::decodeRegular(body, false, r))
        return std::move(r.conversation);
    auto decoded = detail::decodeByDocument(body, false);
    if (!decoded)
        return decoded.error();
    return std::move(decoded->conversation);
}

void detail::decodeInto(std::string_view body, Result<GetOrCreateConversationResponse>& out)
{
    if (!out)
        out = GetOrCreateConversationResponse{};
    if (!decodeRegular(body, true, *out))
        out = decodeByDocument(body, true);
}

Result<GetOrCreateConversationResponse> decodeGetOrCreateConversationResponse(std::string_view body)
{
    Result<GetOrCreateConversationResponse> r{boost::system::in_place_value};
    detail::decodeInto(body, r);
    return r;
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
