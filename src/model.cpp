// SPDX-License-Identifier: BSL-1.0
#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include <array>
#include <cstdint>
#include <string_view>

namespace wix::inbox {

namespace {

// What each of a GUID's 36 characters may be: a hex digit, or a dash at 8, 13, 18, 23.
constexpr std::array<bool, 256> hexDigits = [] {
    std::array<bool, 256> t{};
    for (const char c : std::string_view("0123456789abcdefABCDEF"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

} // namespace

// The places of the 32 hex digits, around the dashes at 8, 13, 18 and 23.
constexpr std::array<std::uint8_t, 32> hexPlaces = [] {
    std::array<std::uint8_t, 32> places{};
    std::size_t n = 0;
    for (std::uint8_t i = 0; i < 36; ++i)
        if (i != 8 && i != 13 && i != 18 && i != 23)
            places[n++] = i;
    return places;
}();

// Every response carries a few GUIDs, each checked: 32 table lookups at fixed places, which
// the compiler unrolls, and four compares.
bool isValidGuid(std::string_view id) noexcept
{
    if (id.size() != 36)
        return false;
    const auto* p = reinterpret_cast<const unsigned char*>(id.data());
    bool ok = (p[8] == '-') & (p[13] == '-') & (p[18] == '-') & (p[23] == '-');
#pragma GCC unroll 32
    for (const std::uint8_t i : hexPlaces)
        ok &= hexDigits[p[i]];
    return ok;
}

std::string lowerCaseGuid(std::string_view id)
{
    std::string out(id);
    for (char& c : out)
        c = c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
}

std::string_view ParticipantId::wireField() const noexcept
{
    switch (kind_) {
    case Kind::contact: return "contactId";
    case Kind::anonymousVisitor: return "anonymousVisitorId";
    case Kind::member: return "memberId";
    }
    return "memberId";
}

ChannelType ChannelType::fromWire(std::string_view name)
{
    static constexpr std::array<std::string_view, 7> known{
        "UNKNOWN_CHANNEL_TYPE", "CHAT", "EMAIL", "SMS", "FACEBOOK", "INSTAGRAM", "WHATSAPP"};
    for (std::size_t i = 0; i < known.size(); ++i)
        if (known[i] == name)
            return {static_cast<Value>(i), std::string(name)};
    return {other, std::string(name)};
}

Message textMessage(std::string text, Visibility visibility, Direction direction)
{
    Message m;
    m.content = BasicContent{{TextItem{std::move(text)}}};
    m.visibility = visibility;
    m.direction = direction;
    return m;
}

} // namespace wix::inbox
