// SPDX-License-Identifier: BSL-1.0
#include "terminal.hpp"

#include <cstdio>

namespace wix::inbox::cli {
namespace {

// The length of the valid UTF-8 sequence at `at`, or 0.
std::size_t utf8Length(std::string_view s, std::size_t at)
{
    const auto b = static_cast<unsigned char>(s[at]);
    const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || at + n > s.size())
        return 0;
    for (std::size_t i = 1; i < n; ++i)
        if ((static_cast<unsigned char>(s[at + i]) & 0xc0) != 0x80)
            return 0;
    return n;
}

bool isC1(std::string_view s, std::size_t at)
{
    return at + 1 < s.size() && static_cast<unsigned char>(s[at]) == 0xc2
        && static_cast<unsigned char>(s[at + 1]) >= 0x80 && static_cast<unsigned char>(s[at + 1]) <= 0x9f;
}

std::string escaped(const char* format, unsigned value)
{
    char out[8];
    std::snprintf(out, sizeof out, format, value);
    return out;
}

} // namespace

std::string truncated(std::string_view text, std::size_t max)
{
    if (text.size() <= max)
        return std::string(text);
    std::size_t end = max;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80)
        --end; // not inside a UTF-8 sequence
    return std::string(text.substr(0, end)) + "\u2026";
}

std::string printable(std::string_view text, std::size_t max)
{
    const std::string_view shown = text.substr(0, std::min(max, text.size()));
    std::string out;
    out.reserve(shown.size() + 16);
    for (std::size_t i = 0; i < shown.size();) {
        const auto b = static_cast<unsigned char>(shown[i]);
        const std::size_t n = (b < 0x20 || b == 0x7f || isC1(shown, i)) ? 0 : utf8Length(shown, i);
        if (isC1(shown, i)) {
            out += escaped("\\u%04x", static_cast<unsigned char>(shown[i + 1]));
            i += 2;
        } else if (n == 0) { // a control character, or a byte that is not UTF-8
            out += escaped("\\x%02x", b);
            ++i;
        } else {
            out.append(shown.substr(i, n));
            i += n;
        }
    }
    if (text.size() > shown.size())
        out += " [" + std::to_string(text.size() - shown.size()) + " more bytes]";
    return out;
}

std::string terminalSafeJson(std::string json)
{
    std::size_t at = 0;
    while (at < json.size() && static_cast<unsigned char>(json[at]) != 0x7f && !isC1(json, at))
        ++at;
    if (at == json.size())
        return json; // the common case: nothing to change
    std::string out(json, 0, at);
    for (std::size_t i = at; i < json.size(); ++i) {
        const auto b = static_cast<unsigned char>(json[i]);
        if (b == 0x7f)
            out += "\\u007f";
        else if (isC1(json, i))
            out += escaped("\\u%04x", static_cast<unsigned char>(json[++i]));
        else
            out += json[i];
    }
    return out;
}

} // namespace wix::inbox::cli
