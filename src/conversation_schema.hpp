// SPDX-License-Identifier: BSL-1.0
// The JSON fields of the Conversations model, listed once: read and written by json_schema.
#pragma once

#include "json_schema.hpp"

namespace wix::inbox::detail::json_schema {

template <>
struct Schema<IdentificationData> {
    static constexpr auto fields = std::tuple{
        field("anonymousVisitorId", &IdentificationData::anonymousVisitorId, guid),
        field("memberId", &IdentificationData::memberId, guid),
        field("contactId", &IdentificationData::contactId, guid),
    };
};

template <>
struct Schema<ConversationDisplayData> {
    static constexpr auto fields = std::tuple{
        field("name", &ConversationDisplayData::name),
        field("imageUrl", &ConversationDisplayData::imageUrl),
    };
};

template <>
struct Schema<Conversation> {
    static constexpr auto fields = std::tuple{
        field("id", &Conversation::id, required | guid),
        field("participant", &Conversation::participant, required),
        field("channels", &Conversation::channels, required),
        field("businessDisplayData", &Conversation::businessDisplayData, required),
        field("participantDisplayData", &Conversation::participantDisplayData),
    };
    // The business always has a name; a participant may have none.
    static std::string_view missing(const Conversation& c)
    {
        return c.businessDisplayData.name ? std::string_view() : "businessDisplayData.name";
    }
};

template <>
struct Schema<GetOrCreateConversationResponse> {
    static constexpr auto fields = std::tuple{
        field("conversation", &GetOrCreateConversationResponse::conversation, required),
        field("newConversation", &GetOrCreateConversationResponse::newConversation, required),
    };
};

} // namespace wix::inbox::detail::json_schema
