// SPDX-License-Identifier: BSL-1.0
#include "emulator/list_query.hpp"
#include "base64url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace wix::inbox::emulator {
namespace json = boost::json;
using detail::decodeBase64url;
using detail::encodeBase64url;
namespace {

std::optional<std::string> percentDecoded(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%') {
            unsigned value = 0;
            if (i + 2 >= s.size())
                return std::nullopt;
            const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
            if (ec != std::errc() || end != s.data() + i + 3)
                return std::nullopt;
            out += static_cast<char>(value);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

QueryProblem problem(std::string field, std::string message, std::string rule = "FORMAT")
{
    return {std::move(field), std::move(message), std::move(rule)};
}

std::optional<QueryProblem> setLimit(ListQuery& q, std::string_view text)
{
    std::int64_t limit = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        return problem("paging.limit", "paging.limit must be an integer");
    q.limit = limit;
    return std::nullopt;
}

// The `.r` form: the whole request as JSON.
std::variant<ListQuery, QueryProblem> fromJson(std::string_view encoded)
{
    const auto text = decodeBase64url(encoded);
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 8;
    const json::value root = text ? json::parse(*text, ec, {}, options) : json::value();
    if (!text || ec || !root.is_object())
        return problem(".r", ".r must be base64url-encoded JSON of the request");
    ListQuery q;
    const auto& o = root.get_object();
    auto string = [&](const json::object& in, std::string_view key, std::string& out) {
        const auto* v = in.if_contains(key);
        if (v && v->is_string())
            out = v->get_string();
        return !v || v->is_string() || v->is_null();
    };
    if (!string(o, "conversationId", q.conversationId))
        return problem("conversationId", "conversationId must be a string");
    if (!string(o, "visibility", q.visibility))
        return problem("visibility", "visibility must be a string");
    if (const auto* paging = o.if_contains("paging"); paging && paging->is_object()) {
        if (const auto* limit = paging->get_object().if_contains("limit"); limit && !limit->is_null()) {
            if (limit->is_int64())
                q.limit = limit->get_int64();
            else if (!limit->is_string() || setLimit(q, limit->get_string()))
                return problem("paging.limit", "paging.limit must be an integer");
        }
        std::string cursor;
        if (!string(paging->get_object(), "cursor", cursor))
            return problem("paging.cursor", "paging.cursor must be a string");
        if (!cursor.empty())
            q.cursor = cursor;
    }
    if (const auto* sorting = o.if_contains("sorting"); sorting && sorting->is_object()) {
        std::string field, order;
        if (!string(sorting->get_object(), "fieldName", field) || !string(sorting->get_object(), "order", order))
            return problem("sorting", "sorting must hold strings");
        if (!field.empty() && field != "sequence")
            return problem("sorting.fieldName", "messages sort by sequence only");
        if (!order.empty())
            q.order = order;
    }
    return q;
}

} // namespace

std::variant<ListQuery, QueryProblem> parseListQuery(std::string_view target)
{
    const auto mark = target.find('?');
    std::string_view query = mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
    ListQuery q;
    while (!query.empty()) {
        const auto end = std::min(query.find('&'), query.size());
        const std::string_view pair = query.substr(0, end);
        query.remove_prefix(std::min(end + 1, query.size()));
        const auto equals = pair.find('=');
        const std::string_view key = pair.substr(0, equals);
        const auto value = percentDecoded(equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1));
        if (!value)
            return problem(std::string(key), "malformed percent-encoding");
        if (key == ".r")
            return fromJson(*value);
        if (key == "conversationId")
            q.conversationId = *value;
        else if (key == "visibility")
            q.visibility = *value;
        else if (key == "paging.limit") {
            if (auto p = setLimit(q, *value))
                return *p;
        } else if (key == "paging.cursor")
            q.cursor = *value;
        else if (key == "sorting.fieldName" && *value != "sequence")
            return problem("sorting.fieldName", "messages sort by sequence only");
        else if (key == "sorting.order")
            q.order = *value;
    }
    return q;
}

namespace {
std::string mac(std::string_view payload, const CursorKey& key)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(payload.data()),
         payload.size(), digest, &size);
    return std::string(reinterpret_cast<const char*>(digest), 16);
}
} // namespace

std::string sealCursor(const Cursor& c, const CursorKey& key)
{
    const std::string payload
        = c.conversationId + "|" + c.visibility + "|" + c.order + "|" + std::to_string(c.afterSequence);
    return encodeBase64url(payload) + "." + encodeBase64url(mac(payload, key));
}

std::optional<Cursor> openCursor(std::string_view text, const CursorKey& key)
{
    const auto dot = text.find('.');
    if (dot == std::string_view::npos || text.size() > 1000)
        return std::nullopt;
    const auto payload = decodeBase64url(text.substr(0, dot));
    const auto seal = decodeBase64url(text.substr(dot + 1));
    if (!payload || !seal || seal->size() != 16)
        return std::nullopt;
    const auto expected = mac(*payload, key);
    if (CRYPTO_memcmp(expected.data(), seal->data(), 16) != 0)
        return std::nullopt;
    Cursor c;
    std::string_view rest = *payload;
    std::string* parts[] = {&c.conversationId, &c.visibility, &c.order};
    for (auto* part : parts) {
        const auto bar = rest.find('|');
        if (bar == std::string_view::npos)
            return std::nullopt;
        *part = rest.substr(0, bar);
        rest.remove_prefix(bar + 1);
    }
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), c.afterSequence);
    if (ec != std::errc() || end != rest.data() + rest.size())
        return std::nullopt;
    return c;
}

} // namespace wix::inbox::emulator
