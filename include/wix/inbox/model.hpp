// SPDX-License-Identifier: BSL-1.0
// The typed model of the Wix Inbox v2 Conversations API (see the wire contract).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wix::inbox {

/// True for the 8-4-4-4-12 hexadecimal GUID form the API uses for every ID (either case).
bool isValidGuid(std::string_view id) noexcept;
/// The GUID in lower case, the one spelling of an ID that comes in either case (the rest of
/// `id` is kept as it is).
std::string lowerCaseGuid(std::string_view id);

/// Who a conversation is with: exactly one of a contact, an anonymous visitor or a member.
/// Built only through the named constructors; the ID is validated when a call is made,
/// before anything is sent.
class ParticipantId {
public:
    enum class Kind { contact, anonymousVisitor, member };

    static ParticipantId contact(std::string id) { return {Kind::contact, std::move(id)}; }
    static ParticipantId anonymousVisitor(std::string id) { return {Kind::anonymousVisitor, std::move(id)}; }
    static ParticipantId member(std::string id) { return {Kind::member, std::move(id)}; }

    Kind kind() const noexcept { return kind_; }
    const std::string& id() const noexcept { return id_; }
    /// The JSON field that carries the ID: "contactId", "anonymousVisitorId" or "memberId".
    std::string_view wireField() const noexcept;

    friend bool operator==(const ParticipantId&, const ParticipantId&) = default;

private:
    ParticipantId(Kind k, std::string id) : kind_(k), id_(std::move(id)) {}
    Kind kind_;
    std::string id_;
};

/// A conversation's channel. The API evolves, so a value this library does not know is
/// kept (as `other` with its wire name) rather than rejected.
class ChannelType {
public:
    enum Value { unknownChannelType, chat, email, sms, facebook, instagram, whatsapp, other };

    static ChannelType fromWire(std::string_view name);
    Value value() const noexcept { return value_; }
    /// The name as on the wire, e.g. "CHAT", or the unrecognised name as received.
    const std::string& wireName() const noexcept { return name_; }

    friend bool operator==(const ChannelType& a, const ChannelType& b) { return a.name_ == b.name_; }

private:
    ChannelType(Value v, std::string name) : value_(v), name_(std::move(name)) {}
    Value value_;
    std::string name_;
};

/// Who a conversation's participant is. At most one of anonymousVisitorId / memberId;
/// members also carry a contactId.
struct IdentificationData {
    std::optional<std::string> anonymousVisitorId;
    std::optional<std::string> memberId;
    std::optional<std::string> contactId;

    friend bool operator==(const IdentificationData&, const IdentificationData&) = default;
};

/// Display data of the business or of the participant.
struct ConversationDisplayData {
    std::optional<std::string> name; ///< Always present in businessDisplayData.
    std::optional<std::string> imageUrl;

    friend bool operator==(const ConversationDisplayData&, const ConversationDisplayData&) = default;
};

struct Conversation {
    std::string id;                    ///< GUID; can change when the participant's type changes.
    IdentificationData participant;
    std::vector<ChannelType> channels; ///< Deprecated by Wix; always an array.
    ConversationDisplayData businessDisplayData;
    std::optional<ConversationDisplayData> participantDisplayData;

    friend bool operator==(const Conversation&, const Conversation&) = default;
};

struct GetOrCreateConversationResponse {
    Conversation conversation;
    bool newConversation = false; ///< True when this call created the conversation.

    friend bool operator==(const GetOrCreateConversationResponse&,
                           const GetOrCreateConversationResponse&) = default;
};

} // namespace wix::inbox
