// SPDX-License-Identifier: BSL-1.0
#include "observe.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace wix::inbox {

std::string_view toString(ConnectionEvent::Kind kind) noexcept
{
    switch (kind) {
    case ConnectionEvent::Kind::opened: return "opened";
    case ConnectionEvent::Kind::reused: return "reused";
    case ConnectionEvent::Kind::closed: return "closed";
    }
    return "unknown";
}

std::string_view toString(ConnectionEvent::Reason reason) noexcept
{
    switch (reason) {
    case ConnectionEvent::Reason::none: return "none";
    case ConnectionEvent::Reason::notReusable: return "notReusable";
    case ConnectionEvent::Reason::expired: return "expired";
    case ConnectionEvent::Reason::serverClosed: return "serverClosed";
    case ConnectionEvent::Reason::shutdown: return "shutdown";
    }
    return "unknown";
}

} // namespace wix::inbox

namespace wix::inbox::detail {
namespace {

constexpr std::string_view redacted = "[redacted]";

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

HeaderField field(std::string_view name, std::string_view value)
{
    return {name, isSensitiveHeader(name) ? redacted : value};
}

} // namespace

bool isSensitiveHeader(std::string_view name) noexcept
{
    constexpr std::array<std::string_view, 4> sensitive{"Authorization", "Cookie", "Set-Cookie", "Proxy-Authorization"};
    return std::any_of(sensitive.begin(), sensitive.end(), [&](std::string_view s) { return iequals(s, name); });
}

std::vector<HeaderField> headerFields(std::string_view head)
{
    std::vector<HeaderField> out;
    auto at = head.find("\r\n");
    while (at != std::string_view::npos) {
        const auto begin = at + 2;
        const auto end = head.find("\r\n", begin);
        if (end == std::string_view::npos || end == begin)
            break; // the blank line ends the head
        const auto line = head.substr(begin, end - begin);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos) {
            auto value = line.substr(colon + 1);
            value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
            out.push_back(field(line.substr(0, colon), value));
        }
        at = end;
    }
    return out;
}

std::vector<HeaderField> headerFields(const std::vector<std::pair<std::string, std::string>>& fields)
{
    std::vector<HeaderField> out;
    out.reserve(fields.size());
    for (const auto& [name, value] : fields)
        out.push_back(field(name, value));
    return out;
}

} // namespace wix::inbox::detail
