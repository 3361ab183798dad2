#include <wix/inbox/model.hpp>

#include <array>

namespace wix::inbox {

bool isValidGuid(std::string_view id) noexcept
{
    if (id.size() != 36)
        return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
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

} // namespace wix::inbox
