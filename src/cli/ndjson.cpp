#include "cli/ndjson.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace wix::inbox::cli {
namespace json = boost::json;

namespace {

constexpr std::string_view requestFields[] = {"memberId", "contactId", "anonymousVisitorId", "conversationId"};
// Names the output line itself writes: a passthrough field with one of them would be
// overwritten or, for "line", break --resume, so such a line is rejected instead.
constexpr std::string_view outputFields[] = {"line", "ok", "error", "conversation", "newConversation"};

bool contains(const auto& names, std::string_view key)
{
    return std::find(std::begin(names), std::end(names), key) != std::end(names);
}

json::object errorObject(const Error& e)
{
    std::string code = e.applicationCode;
    if (code.empty())
        code = e.code.category() == category() ? std::string(toString(static_cast<Errc>(e.code.value())))
                                               : e.code.message();
    return {{"status", e.httpStatus}, {"code", code},           {"message", e.message},
            {"requestId", e.requestId}, {"attempts", e.attempts}};
}

// Boost.JSON reads a number too large for a double as infinity, which has no JSON form:
// copied to the output, it would make that line invalid.
bool hasNonFiniteNumber(const json::value& v)
{
    switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
        return std::any_of(v.get_array().begin(), v.get_array().end(), hasNonFiniteNumber);
    case json::kind::object:
        return std::any_of(v.get_object().begin(), v.get_object().end(),
                           [](const json::key_value_pair& kv) { return hasNonFiniteNumber(kv.value()); });
    default: return false;
    }
}

} // namespace

std::variant<BatchRequest, std::string> parseBatchLine(std::string_view line)
{
    if (line.find_first_not_of(" \t\r") == std::string_view::npos)
        return std::string("empty line");
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 32;
    json::value root = json::parse(line, ec, {}, options);
    if (ec)
        return "invalid JSON: " + ec.message();
    if (!root.is_object())
        return std::string("line is not a JSON object");
    BatchRequest request;
    std::string_view found;
    for (auto& [key, value] : root.get_object()) {
        if (contains(outputFields, key))
            return "field \"" + std::string(key) + "\" is reserved for the output line; rename it";
        if (!contains(requestFields, key)) {
            if (hasNonFiniteNumber(value))
                return "field \"" + std::string(key) + "\" has a number out of range";
            request.passthrough.emplace(key, std::move(value));
            continue;
        }
        if (!found.empty())
            return "line has both " + std::string(found) + " and " + std::string(key);
        if (!value.is_string())
            return std::string(key) + " must be a string";
        found = key;
        std::string id(value.get_string());
        if (key == "memberId")
            request.participant = ParticipantId::member(std::move(id));
        else if (key == "contactId")
            request.participant = ParticipantId::contact(std::move(id));
        else if (key == "anonymousVisitorId")
            request.participant = ParticipantId::anonymousVisitor(std::move(id));
        else
            request.conversationId = std::move(id);
    }
    if (found.empty())
        return std::string("line has none of memberId, contactId, anonymousVisitorId, conversationId");
    return request;
}

std::string okLine(std::uint64_t line, const json::object& passthrough, const json::object& result)
{
    json::object out;
    out.reserve(passthrough.size() + result.size() + 2);
    out["line"] = line;
    for (const auto& [k, v] : passthrough)
        out[k] = v;
    out["ok"] = true;
    for (const auto& [k, v] : result)
        out[k] = v;
    return json::serialize(out);
}

std::string errorLine(std::uint64_t line, const json::object& passthrough, const Error& error)
{
    json::object out;
    out["line"] = line;
    for (const auto& [k, v] : passthrough)
        out[k] = v;
    out["ok"] = false;
    out["error"] = errorObject(error);
    return json::serialize(out);
}

std::string inputErrorLine(std::uint64_t line, std::string_view problem)
{
    return json::serialize(json::object{{"line", line},
                                        {"ok", false},
                                        {"error", json::object{{"status", 0},
                                                               {"code", "invalidInput"},
                                                               {"message", problem},
                                                               {"requestId", ""},
                                                               {"attempts", 0}}}});
}

std::variant<ResumePoint, std::string> findResumePoint(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ResumePoint{}; // nothing written yet: start from the beginning
    ResumePoint point;
    std::string lastLine, current;
    char chunk[1 << 16];
    std::uint64_t offset = 0;
    for (;;) {
        const auto n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; ++i) {
            if (chunk[i] == '\n') {
                ++point.lines;
                point.bytes = offset + static_cast<std::uint64_t>(i) + 1;
                lastLine.swap(current);
                current.clear();
            } else if (current.size() <= maxLineBytes * 2) {
                current += chunk[i];
            }
        }
        offset += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    if (point.lines == 0)
        return point;
    // The output's last complete line must be line N of N: otherwise it is another file.
    boost::system::error_code ec;
    const json::value last = json::parse(lastLine, ec);
    const json::value* number = (!ec && last.is_object()) ? last.get_object().if_contains("line") : nullptr;
    if (!number || !number->is_number() || number->to_number<double>() != static_cast<double>(point.lines))
        return "'" + path + "' is not the output of an interrupted batch (its last line is not line "
             + std::to_string(point.lines) + ")";
    return point;
}

} // namespace wix::inbox::cli
