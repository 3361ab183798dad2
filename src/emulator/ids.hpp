// SPDX-License-Identifier: BSL-1.0
// The emulator's own reading of IDs: it is the oracle the client is tested against, so it
// checks input with its own code, not the client's.
#pragma once

#include <string>
#include <string_view>

namespace wix::inbox::emulator {

// Wix IDs are GUIDs in the 8-4-4-4-12 form, in either case.
inline bool isGuid(std::string_view id)
{
    static constexpr std::string_view hex = "0123456789abcdefABCDEF";
    if (id.size() != 36)
        return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : hex.find(id[i]) == std::string_view::npos)
            return false;
    }
    return true;
}

// One spelling of a GUID, so that "ABC…" and "abc…" name the same participant or conversation.
inline std::string lowerCase(std::string_view id)
{
    std::string out(id);
    for (char& c : out)
        c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
}

} // namespace wix::inbox::emulator
