// SPDX-License-Identifier: BSL-1.0
// The codec of the Conversations model: the public decode and encode functions over the
// generic reader and writer, following the fields listed in conversation_schema.hpp.
#include <wix/inbox/codec.hpp>

#include "codec_detail.hpp"
#include "conversation_schema.hpp"
#include "json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace wix::inbox {
namespace json = boost::json;

namespace {
template <class T>
json::object toObject(const T& value)
{
    return std::move(detail::json_schema::write(value).as_object());
}
} // namespace

json::object toJson(const ParticipantId& p)
{
    json::object o;
    o[p.wireField()] = p.id();
    return o;
}
json::object toJson(const IdentificationData& d) { return toObject(d); }
json::object toJson(const Conversation& c) { return toObject(c); }
json::object toJson(const GetOrCreateConversationResponse& r) { return toObject(r); }

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


void detail::decodeConversationInto(std::string_view body, Result<Conversation>& out)
{
    json_schema::Wrapped<Conversation, "conversation"> decoded; // GetConversation's body
    if (auto failure = json_schema::decodeBody(body, decoded))
        out = std::move(*failure);
    else
        out = std::move(decoded.value);
}

void detail::decodeGetOrCreateInto(std::string_view body, Result<GetOrCreateConversationResponse>& out)
{
    if (!out)
        out = GetOrCreateConversationResponse{};
    if (auto failure = json_schema::decodeBody(body, *out))
        out = std::move(*failure);
}

Result<Conversation> decodeGetConversationResponse(std::string_view body)
{
    return detail::decodeWith(&detail::decodeConversationInto, body);
}

Result<GetOrCreateConversationResponse> decodeGetOrCreateConversationResponse(std::string_view body)
{
    return detail::decodeWith(&detail::decodeGetOrCreateInto, body);
}

void decodeErrorBody(std::string_view body, Error& into)
{
    json::parse_options options;
    options.max_depth = detail::json_schema::maxDepth;
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
