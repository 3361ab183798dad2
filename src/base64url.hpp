// SPDX-License-Identifier: BSL-1.0
// Base64url without padding, as JWTs and the SDK's `.r=` queries write it: the webhook
// verifier reads it, the emulator writes and reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wix::inbox::detail {

inline constexpr std::string_view base64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

inline std::string encodeBase64url(std::string_view bytes)
{
    std::string out;
    std::uint32_t bits = 0;
    int held = 0;
    for (const char c : bytes) {
        bits = (bits << 8) | static_cast<unsigned char>(c);
        held += 8;
        while (held >= 6) {
            held -= 6;
            out += base64url[(bits >> held) & 0x3f];
        }
    }
    if (held > 0)
        out += base64url[(bits << (6 - held)) & 0x3f];
    return out;
}

// Without padding; nothing for any other character, or for a lone sixth character (which
// holds no whole byte, so is no base64).
inline std::optional<std::string> decodeBase64url(std::string_view text)
{
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int held = 0;
    for (const char c : text) {
        const auto value = base64url.find(c);
        if (value == std::string_view::npos)
            return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        held += 6;
        if (held >= 8) {
            held -= 8;
            out += static_cast<char>((bits >> held) & 0xff);
        }
    }
    if (held >= 6)
        return std::nullopt;
    return out;
}

} // namespace wix::inbox::detail
