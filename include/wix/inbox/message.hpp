// SPDX-License-Identifier: BSL-1.0
// The typed model of the Wix Inbox v2 Messages API (see docs/api.md).
//
// As for conversations, what the API may add later is tolerated when decoding: unknown
// fields are ignored, an unknown enum value reads as `unknown`, and a content kind (or a
// basic item kind) this library does not know is kept whole as JSON text.
#pragma once

#include <wix/inbox/model.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace wix::inbox {

/// Who sees a message. Listing with `business` returns every message; with
/// `businessAndParticipant` only those the participant sees.
enum class Visibility { unknown, businessAndParticipant, business };

enum class Direction { unknown, businessToParticipant, participantToBusiness };

/// Order of a listing, by the conversation's message sequence. The API's default: newest first.
enum class SortOrder { desc, asc };

struct TextItem {
    std::string text; ///< At most maxTextCharacters Unicode characters.
    friend bool operator==(const TextItem&, const TextItem&) = default;
};

struct ImageItem {
    std::string url;
    std::optional<std::string> id;
    std::optional<int> width;
    std::optional<int> height;
    std::optional<std::string> filename;
    friend bool operator==(const ImageItem&, const ImageItem&) = default;
};

struct FileItem {
    std::string url;
    std::optional<std::string> fileId;
    std::optional<std::string> filename;
    std::optional<std::string> mimeType;
    std::optional<std::int64_t> sizeInBytes;
    friend bool operator==(const FileItem&, const FileItem&) = default;
};

/// A JSON object this library passes through as text: the content kinds it does not model
/// (form, system), and kinds the API adds later. Sent as given (it must be one
/// JSON object); received as the server wrote it, re-serialised.
struct RawJson {
    std::string json;
    friend bool operator==(const RawJson&, const RawJson&) = default;
};

/// One item of a basic message: text, an image or a file (or, received, a kind not known
/// here: `RawJson` holds the whole item).
using BasicItem = std::variant<TextItem, ImageItem, FileItem, RawJson>;

struct BasicContent {
    std::vector<BasicItem> items; ///< At least one.
    friend bool operator==(const BasicContent&, const BasicContent&) = default;
};
struct MinimalContent {
    std::string text;
    friend bool operator==(const MinimalContent&, const MinimalContent&) = default;
};
/// What a template button reports when the participant presses it: Wix then delivers the
/// `button_interacted` webhook (webhooks::ButtonInteracted) with this interaction ID.
struct PostbackProperties {
    std::string interactionId;        ///< Yours to define: 1 to 256 characters.
    std::optional<std::string> appId; ///< Set by the server (the sending app); ignored when sent.
    friend bool operator==(const PostbackProperties&, const PostbackProperties&) = default;
};

/// A button of a template message: it opens `launchUrl`, or reports a press through
/// `postbackProperties` (one of the two).
struct TemplateButton {
    std::string label; ///< Required: 1 to maxTextCharacters characters.
    std::optional<std::string> launchUrl;
    std::optional<PostbackProperties> postbackProperties;
    friend bool operator==(const TemplateButton&, const TemplateButton&) = default;
};

enum class Orientation { unknown, portrait, landscape };

/// A card with a title, lines of text, an image and buttons.
struct TemplateContent {
    std::optional<std::string> title;
    std::vector<std::string> textLines;  ///< At most 10, each at most 512 characters.
    std::vector<TemplateButton> buttons; ///< At most 10.
    Orientation orientation = Orientation::unknown; ///< Unknown: the server's default.
    std::optional<std::string> imageUrl; ///< An http(s) URL.
    friend bool operator==(const TemplateContent&, const TemplateContent&) = default;
};
struct FormContent {
    RawJson value;
    friend bool operator==(const FormContent&, const FormContent&) = default;
};
struct SystemContent {
    RawJson value;
    friend bool operator==(const SystemContent&, const SystemContent&) = default;
};
/// A content kind this library does not know, received: the whole `content` object.
struct UnknownContent {
    RawJson value;
    friend bool operator==(const UnknownContent&, const UnknownContent&) = default;
};

/// Exactly one kind of content, as the API requires.
using MessageContent
    = std::variant<BasicContent, MinimalContent, TemplateContent, FormContent, SystemContent, UnknownContent>;

struct Badge {
    std::optional<std::string> text;
    std::optional<std::string> iconUrl;
    friend bool operator==(const Badge&, const Badge&) = default;
};

struct Message {
    /// Made by the server (a numeric string); empty in a message to send.
    std::string id;
    MessageContent content;
    std::optional<IdentificationData> sender;
    Visibility visibility = Visibility::unknown;  ///< Required to send.
    Direction direction = Direction::unknown;    ///< Required to send.
    /// Position in the conversation, made by the server (an int64 sent as a string).
    std::optional<std::int64_t> sequence;
    std::optional<std::string> createdDate;      ///< ISO-8601 UTC, e.g. "2026-12-02T08:00:00.000Z".
    std::vector<Badge> badges;
    std::vector<std::string> targetChannelIds;
    std::optional<std::string> sourceChannelId;
    std::optional<bool> silent;

    friend bool operator==(const Message&, const Message&) = default;
};

/// The API's limit on a text's length, in characters counted as UTF-16 code units (as
/// JavaScript and the JVM count them: a character beyond U+FFFF, such as most emoji,
/// counts 2). The stricter reading of "characters": no text within it is refused for length.
inline constexpr std::size_t maxTextCharacters = 16384;

/// A basic text message from the business to the participant, which the participant sees:
/// what most sends are.
Message textMessage(std::string text, Visibility visibility = Visibility::businessAndParticipant,
                    Direction direction = Direction::businessToParticipant);

/// One page of a listing. `nextCursor` is absent on the last page: a full page does not
/// mean there is more, and a short one does not mean there is none.
struct MessagesPage {
    std::vector<Message> messages;
    std::optional<std::string> nextCursor;
    friend bool operator==(const MessagesPage&, const MessagesPage&) = default;
};

struct ListMessagesOptions {
    /// Messages per page, 1..100; absent: the server's default (30).
    std::optional<int> limit;
    /// Where to continue: a previous page's nextCursor (at most 16,000 characters), used with
    /// the same visibility and order as that page.
    std::optional<std::string> cursor;
    SortOrder order = SortOrder::desc;
};

struct SendMessageOptions {
    enum class SendAs { caller, participant };
    std::optional<bool> sendNotifications;
    std::optional<SendAs> sendAs;
};

} // namespace wix::inbox
