// SPDX-License-Identifier: BSL-1.0
// UTF-8 as the API's limits read it. Header-only: the codec checks texts before they are
// sent, the emulator the texts it receives, by the same count.
#pragma once

#include <cstddef>
#include <string_view>

namespace wix::inbox::detail {

/// The length of the well-formed UTF-8 sequence that `s` starts with, 0 if none: Unicode's
/// Table 3-7, so no overlong form, no surrogate (U+D800..DFFF), nothing above U+10FFFF and
/// no truncated sequence. A server may read any of those as another character than meant.
inline std::size_t sequenceLength(std::string_view s) noexcept
{
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(0);
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xbf; // the second byte's range
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        low = lead == 0xe0 ? 0xa0 : 0x80;
        high = lead == 0xed ? 0x9f : 0xbf;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        low = lead == 0xf0 ? 0x90 : 0x80;
        high = lead == 0xf4 ? 0x8f : 0xbf;
    }
    if (length == 0 || s.size() < length || byte(1) < low || byte(1) > high)
        return 0;
    for (std::size_t i = 2; i < length; ++i)
        if ((byte(i) & 0xc0) != 0x80)
            return 0;
    return length;
}

/// The length of UTF-8 text in UTF-16 code units, as the API counts a text's characters
/// (maxTextCharacters): a character beyond U+FFFF counts 2, as JavaScript and the JVM count
/// a string's length, the stricter reading, so that no text the client lets through is
/// refused for its length. npos for text that is not well-formed UTF-8.
inline std::size_t utf16Length(std::string_view s) noexcept
{
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto length = sequenceLength(s.substr(i));
        if (length == 0)
            return std::string_view::npos;
        count += length == 4 ? 2 : 1;
        i += length;
    }
    return count;
}

} // namespace wix::inbox::detail
