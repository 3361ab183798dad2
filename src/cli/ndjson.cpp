// SPDX-License-Identifier: BSL-1.0
#include "ndjson.hpp"
#include "terminal.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace wix::inbox::cli {
namespace json = boost::json;

namespace {

constexpr std::string_view requestFields[] = {"memberId", "contactId", "anonymousVisitorId", "conversationId"};
// Fields that name the line's tenant: read, and written back to the output as they are.
constexpr std::string_view tenantFields[] = {"siteId", "instanceId"};
// Fields of a line that sends a message.
constexpr std::string_view sendFields[] = {"text", "message", "visibility", "direction"};
// Names the output line itself writes: a passthrough field with one of them would be
// overwritten or, for "line", break --resume, so such a line is rejected instead.
constexpr std::string_view outputFields[] = {"line", "ok", "error", "conversation", "newConversation"};

bool contains(const auto& names, std::string_view key)
{
    return std::find(std::begin(names), std::end(names), key) != std::end(names);
}

// `code` is always ours (an Errc name); what the service said is apart, in `wixCode`.
json::object errorObject(const Error& e)
{
    const std::string code = e.code.category() == category() ? std::string(toString(static_cast<Errc>(e.code.value())))
                                                             : e.code.message();
    json::object o{{"status", e.httpStatus}, {"code", code}};
    if (!e.applicationCode.empty())
        o["wixCode"] = truncated(e.applicationCode, 128);
    o["message"] = truncated(e.message);
    o["requestId"] = truncated(e.requestId, 256);
    o["attempts"] = e.attempts;
    o["stopReason"] = toName(e.stopReason);
    return o;
}

// Walks the members of a JSON object's text as written. The text has been parsed already,
// so only its structure is followed: strings (with their escapes), nesting, and the
// characters that end a number or literal.
class RawMembers {
public:
    struct Member {
        std::string_view key;   ///< with its quotes and escapes, as written
        std::string_view value; ///< as written
    };

    explicit RawMembers(std::string_view text) : t_(text), at_(skipSpace(0) + 1) {} // past '{'

    std::optional<Member> next()
    {
        at_ = skipSpace(at_);
        if (at_ >= t_.size() || t_[at_] == '}')
            return std::nullopt;
        const auto keyStart = at_;
        at_ = skipString(at_);
        const auto key = t_.substr(keyStart, at_ - keyStart);
        at_ = skipSpace(skipSpace(at_) + 1); // past ':'
        const auto valueStart = at_;
        at_ = skipValue(at_);
        const auto value = t_.substr(valueStart, at_ - valueStart);
        at_ = skipSpace(at_);
        if (at_ < t_.size() && t_[at_] == ',')
            ++at_;
        return Member{key, value};
    }

private:
    static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
    std::size_t skipSpace(std::size_t i) const
    {
        while (i < t_.size() && space(t_[i]))
            ++i;
        return i;
    }
    std::size_t skipString(std::size_t i) const // t_[i] is the opening quote
    {
        for (++i; i < t_.size(); ++i) {
            if (t_[i] == '\\')
                ++i;
            else if (t_[i] == '"')
                return i + 1;
        }
        return i;
    }
    std::size_t skipValue(std::size_t i) const
    {
        if (i < t_.size() && t_[i] == '"')
            return skipString(i);
        if (i < t_.size() && (t_[i] == '{' || t_[i] == '[')) {
            for (int depth = 0; i < t_.size();) {
                const char c = t_[i];
                if (c == '"') {
                    i = skipString(i);
                    continue;
                }
                if (c == '{' || c == '[')
                    ++depth;
                else if ((c == '}' || c == ']') && --depth == 0)
                    return i + 1;
                ++i;
            }
            return i;
        }
        while (i < t_.size() && t_[i] != ',' && t_[i] != '}' && !space(t_[i]))
            ++i;
        return i;
    }

    std::string_view t_;
    std::size_t at_;
};

// A key as written, decoded.
std::string keyOf(std::string_view raw)
{
    const auto inner = raw.substr(1, raw.size() - 2);
    if (inner.find('\\') == std::string_view::npos)
        return std::string(inner);
    return std::string(json::parse(raw).as_string());
}

// A line's message to send, if it has one: "text" or "message", with "visibility" and
// "direction" overriding the defaults (or the message's own).
std::optional<std::string> readMessage(const json::object& line, BatchRequest& request)
{
    const auto* text = line.if_contains("text");
    const auto* message = line.if_contains("message");
    const auto* visibility = line.if_contains("visibility");
    const auto* direction = line.if_contains("direction");
    if (!text && !message) {
        if (visibility || direction)
            return std::string("visibility and direction go with text or message");
        return std::nullopt;
    }
    if (text && message)
        return std::string("line has both text and message");
    if (text && !text->is_string())
        return std::string("text must be a string");
    if (message && !message->is_object())
        return std::string("message must be an object");
    Message m;
    if (text) {
        m = textMessage(std::string(text->get_string()));
    } else {
        auto decoded = decodeMessage(json::serialize(*message));
        if (!decoded)
            return decoded.error().message;
        m = std::move(*decoded);
        if (m.visibility == Visibility::unknown)
            m.visibility = Visibility::businessAndParticipant;
        if (m.direction == Direction::unknown)
            m.direction = Direction::businessToParticipant;
    }
    if (visibility) {
        const bool known = visibility->is_string()
                        && (visibility->get_string() == "BUSINESS" || visibility->get_string() == "BUSINESS_AND_PARTICIPANT");
        if (!known)
            return std::string("visibility must be BUSINESS or BUSINESS_AND_PARTICIPANT");
        m.visibility = visibility->get_string() == "BUSINESS" ? Visibility::business : Visibility::businessAndParticipant;
    }
    if (direction) {
        const bool known = direction->is_string()
                        && (direction->get_string() == "BUSINESS_TO_PARTICIPANT"
                            || direction->get_string() == "PARTICIPANT_TO_BUSINESS");
        if (!known)
            return std::string("direction must be BUSINESS_TO_PARTICIPANT or PARTICIPANT_TO_BUSINESS");
        m.direction = direction->get_string() == "BUSINESS_TO_PARTICIPANT" ? Direction::businessToParticipant
                                                                            : Direction::participantToBusiness;
    }
    request.message = std::move(m);
    return std::nullopt;
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
    std::string found;
    std::unordered_set<std::string> seen;
    RawMembers members(line.substr(line.find('{')));
    while (const auto member = members.next()) {
        std::string key = keyOf(member->key);
        if (!seen.insert(key).second)
            return "field \"" + key + "\" appears twice";
        if (contains(outputFields, key))
            return "field \"" + key + "\" is reserved for the output line; rename it";
        if (contains(tenantFields, key)) {
            if (request.tenant)
                return std::string("line has both siteId and instanceId");
            const json::value& value = root.get_object().at(key);
            if (!value.is_string() || !isValidGuid(value.get_string()))
                return key + " must be a GUID string";
            request.tenant = LineTenant{key == "siteId" ? LineTenant::Kind::site : LineTenant::Kind::instance,
                                        lowerCaseGuid(value.get_string())};
        }
        if (contains(sendFields, key))
            continue; // read below, once the line is whole
        if (!contains(requestFields, key)) {
            request.passthrough.append(",").append(member->key).append(":").append(member->value);
            continue;
        }
        if (!found.empty())
            return std::string("line has both ").append(found).append(" and ").append(key);
        const json::value& value = root.get_object().at(key);
        if (!value.is_string())
            return key + " must be a string";
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
    if (auto problem = readMessage(root.get_object(), request))
        return *problem;
    return request;
}

std::string BatchRequest::shardKey() const
{
    if (tenant)
        return tenant->label();
    return lowerCaseGuid(participant ? participant->id() : conversationId);
}

std::string okLine(std::uint64_t line, std::string_view passthrough, const json::object& result)
{
    const std::string fields = terminalSafeJson(json::serialize(result));
    std::string out = "{\"line\":" + std::to_string(line);
    out.append(passthrough).append(",\"ok\":true");
    if (fields.size() > 2)
        out.append(",").append(fields, 1, fields.size() - 2);
    return out.append("}");
}

std::string errorLine(std::uint64_t line, std::string_view passthrough, const Error& error)
{
    std::string out = "{\"line\":" + std::to_string(line);
    out.append(passthrough).append(",\"ok\":false,\"error\":");
    return out.append(terminalSafeJson(json::serialize(errorObject(error)))).append("}");
}

std::string inputErrorLine(std::uint64_t line, std::string_view problem)
{
    return json::serialize(json::object{{"line", line},
                                        {"ok", false},
                                        {"error", json::object{{"status", 0},
                                                               {"code", "invalidInput"},
                                                               {"message", problem},
                                                               {"requestId", ""},
                                                               {"attempts", 0},
                                                               {"stopReason", "none"}}}});
}

std::optional<OutputLineHead> readOutputLine(std::string_view text)
{
    boost::system::error_code ec;
    const auto v = json::parse(text, ec);
    const auto* o = !ec && v.is_object() ? &v.get_object() : nullptr;
    const auto* number = o ? o->if_contains("line") : nullptr;
    const auto* ok = o ? o->if_contains("ok") : nullptr;
    if (!number || !number->is_int64() || number->get_int64() < 1 || !ok || !ok->is_bool())
        return std::nullopt;
    return OutputLineHead{static_cast<std::uint64_t>(number->get_int64()), ok->get_bool()};
}

std::variant<ResumePoint, std::string> findResumePoint(const std::string& path, bool sharded)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ResumePoint{}; // nothing written yet: start from the beginning
    const auto refused = [&](const std::string& why) {
        return "'" + path + "' is not the output of an interrupted batch (" + why + ")";
    };
    ResumePoint point;
    std::string current;
    std::optional<std::string> problem;
    char chunk[1 << 16];
    std::uint64_t offset = 0;
    while (!problem) {
        const auto n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n && !problem; ++i) {
            if (chunk[i] != '\n') {
                if (current.size() <= maxOutputLineBytes)
                    current += chunk[i];
                continue;
            }
            // Every complete line is checked, as --retry-failed reads them: a damaged line in the
            // middle would otherwise stay in a finished output.
            ++point.lines;
            const auto at = [&] { return "its line " + std::to_string(point.lines); };
            std::optional<OutputLineHead> head;
            if (current.size() > maxOutputLineBytes)
                problem = refused(at() + " is longer than 16 MiB, the most a batch writes");
            else if (head = readOutputLine(current); !head)
                problem = refused(at() + " is not a batch output line");
            else if (head->line <= point.lastLine)
                problem = refused(at() + " is for input line " + std::to_string(head->line) + ", not after line "
                                  + std::to_string(point.lastLine) + ": out of input order");
            else
                point.lastLine = head->line;
            point.bytes = offset + static_cast<std::uint64_t>(i) + 1;
            current.clear();
        }
        offset += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    if (problem)
        return *problem;
    // The output's last complete line must be line N of N: otherwise it is another file.
    if (point.lines > 0 && (sharded ? point.lastLine < point.lines : point.lastLine != point.lines))
        return refused("its last line is not line "
                       + (sharded ? "number " + std::to_string(point.lines) + " or later" : std::to_string(point.lines)));
    return point;
}

} // namespace wix::inbox::cli
