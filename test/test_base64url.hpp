// SPDX-License-Identifier: BSL-1.0
// Base64url without padding (as JWTs and the SDK's `.r=` queries write it), for tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace test {

inline std::string base64url(std::string_view bytes)
{
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t bits = 0;
    int held = 0;
    for (const char c : bytes) {
        bits = (bits << 8) | static_cast<unsigned char>(c);
        for (held += 8; held >= 6; held -= 6)
            out += alphabet[(bits >> (held - 6)) & 0x3f];
    }
    if (held > 0)
        out += alphabet[(bits << (6 - held)) & 0x3f];
    return out;
}

} // namespace test
