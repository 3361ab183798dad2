// The codec of the Messages model: its JSON fields listed once (Schema), the oneofs read
// and written by hand (Custom), the checks of a message to send, and the public functions.
#include <wix/inbox/codec.hpp>

#include "codec_detail.hpp"
#include "conversation_schema.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>

namespace wix::inbox {
namespace json = boost::json;

namespace detail::json_schema {

template <>
struct EnumNames<Visibility> {
    static constexpr std::array names{std::pair{Visibility::businessAndParticipant, "BUSINESS_AND_PARTICIPANT"},
                                      std::pair{Visibility::business, "BUSINESS"}};
};

template <>
struct EnumNames<Direction> {
    static constexpr std::array names{std::pair{Direction::businessToParticipant, "BUSINESS_TO_PARTICIPANT"},
                                      std::pair{Direction::participantToBusiness, "PARTICIPANT_TO_BUSINESS"}};
};

template <>
struct Custom<RawJson> {
    static bool read(const json::value& v, RawJson& out, const Path& at, Reader& r)
    {
        if (!v.is_object())
            return r.fail(at, "is not an object");
        out.json = json::serialize(v);
        return writable(out.json) || r.fail(at, "holds a number out of range");
    }
    // A number beyond a double's range reads as infinity, which JSON cannot write back
    // (1e99999): text holding one could not be sent again, so it is not taken.
    static bool writable(const std::string& text)
    {
        boost::system::error_code ec;
        json::parse(text, ec);
        return !ec;
    }
    // Checked before sending (checkMessageToSend): text that is not one object writes null.
    static json::value write(const RawJson& raw)
    {
        boost::system::error_code ec;
        auto v = json::parse(raw.json, ec);
        return ec || !v.is_object() ? json::value() : std::move(v);
    }
};

template <>
struct Schema<TextItem> {
    static constexpr auto fields = std::tuple{field("text", &TextItem::text, required)};
};

template <>
struct Schema<ImageItem> {
    static constexpr auto fields = std::tuple{
        field("url", &ImageItem::url),
        field("id", &ImageItem::id),
        field("width", &ImageItem::width),
        field("height", &ImageItem::height),
        field("filename", &ImageItem::filename),
    };
};

template <>
struct Schema<FileItem> {
    static constexpr auto fields = std::tuple{
        field("url", &FileItem::url),
        field("fileId", &FileItem::fileId),
        field("filename", &FileItem::filename),
        field("mimeType", &FileItem::mimeType),
        field("sizeInBytes", &FileItem::sizeInBytes),
    };
};

// A oneof is an object holding one of several keys: the kind is the key. An object with
// none of the known keys is kept whole (a kind the API added later); with two, it is an error.
template <std::size_t N>
bool readOneOf(const json::value& v, const Path& at, Reader& r,
               const std::array<std::string_view, N>& keys, auto readKind, auto keepUnknown)
{
    if (!v.is_object())
        return r.fail(at, "is not an object");
    const auto& o = v.get_object();
    std::size_t found = N;
    for (std::size_t i = 0; i < N; ++i) {
        const auto* kind = o.if_contains(keys[i]);
        if (!kind || kind->is_null())
            continue;
        if (found != N)
            return r.fail(at, "holds both '" + std::string(keys[found]) + "' and '" + std::string(keys[i]) + "'");
        found = i;
    }
    if (found == N) {
        auto text = json::serialize(v);
        if (!Custom<RawJson>::writable(text))
            return r.fail(at, "holds a number out of range");
        keepUnknown(std::move(text));
        return true;
    }
    return readKind(found, o.at(keys[found]), Path{&at, keys[found]});
}

constexpr std::array<std::string_view, 3> itemKinds{"text", "image", "file"};

template <>
struct Custom<BasicItem> {
    static bool read(const json::value& v, BasicItem& out, const Path& at, Reader& r)
    {
        return readOneOf(
            v, at, r, itemKinds,
            [&](std::size_t kind, const json::value& value, const Path& here) {
                switch (kind) {
                case 0: return json_schema::read(value, out.emplace<TextItem>().text, here, r, 0);
                case 1: return json_schema::read(value, out.emplace<ImageItem>(), here, r, 0);
                default: return json_schema::read(value, out.emplace<FileItem>(), here, r, 0);
                }
            },
            [&](std::string text) { out = RawJson{std::move(text)}; });
    }
    static json::value write(const BasicItem& item)
    {
        if (const auto* raw = std::get_if<RawJson>(&item))
            return Custom<RawJson>::write(*raw);
        json::object o;
        const auto kind = itemKinds[item.index()];
        std::visit(
            [&](const auto& value) {
                if constexpr (std::is_same_v<std::decay_t<decltype(value)>, TextItem>)
                    o[kind] = value.text;
                else if constexpr (!std::is_same_v<std::decay_t<decltype(value)>, RawJson>)
                    o[kind] = json_schema::write(value);
            },
            item);
        return o;
    }
};

template <>
struct Schema<BasicContent> {
    static constexpr auto fields = std::tuple{field("items", &BasicContent::items)};
};
template <>
struct Schema<MinimalContent> {
    static constexpr auto fields = std::tuple{field("text", &MinimalContent::text)};
};

// In the order of MessageContent's alternatives; the last one, UnknownContent, has no key.
constexpr std::array<std::string_view, 5> contentKinds{"basic", "minimal", "template", "form", "system"};

template <>
struct Custom<MessageContent> {
    static bool read(const json::value& v, MessageContent& out, const Path& at, Reader& r)
    {
        return readOneOf(
            v, at, r, contentKinds,
            [&](std::size_t kind, const json::value& value, const Path& here) {
                switch (kind) {
                case 0: return json_schema::read(value, out.emplace<BasicContent>(), here, r, 0);
                case 1: return json_schema::read(value, out.emplace<MinimalContent>(), here, r, 0);
                case 2: return Custom<RawJson>::read(value, out.emplace<TemplateContent>().value, here, r);
                case 3: return Custom<RawJson>::read(value, out.emplace<FormContent>().value, here, r);
                default: return Custom<RawJson>::read(value, out.emplace<SystemContent>().value, here, r);
                }
            },
            [&](std::string text) { out = UnknownContent{RawJson{std::move(text)}}; });
    }
    static json::value write(const MessageContent& content)
    {
        return std::visit(
            [&](const auto& value) -> json::value {
                using Kind = std::decay_t<decltype(value)>;
                if constexpr (std::is_same_v<Kind, UnknownContent>) {
                    return Custom<RawJson>::write(value.value);
                } else {
                    json::object o;
                    if constexpr (std::is_same_v<Kind, BasicContent> || std::is_same_v<Kind, MinimalContent>)
                        o[contentKinds[content.index()]] = json_schema::write(value);
                    else
                        o[contentKinds[content.index()]] = Custom<RawJson>::write(value.value);
                    return o;
                }
            },
            content);
    }
};

template <>
struct Schema<Badge> {
    static constexpr auto fields = std::tuple{field("text", &Badge::text), field("iconUrl", &Badge::iconUrl)};
};

template <>
struct Schema<Message> {
    static constexpr auto fields = std::tuple{
        field("id", &Message::id),
        field("content", &Message::content, required),
        field("sender", &Message::sender),
        field("visibility", &Message::visibility),
        field("direction", &Message::direction),
        field("sequence", &Message::sequence),
        field("createdDate", &Message::createdDate),
        field("badges", &Message::badges),
        field("targetChannelIds", &Message::targetChannelIds),
        field("sourceChannelId", &Message::sourceChannelId),
        field("silent", &Message::silent),
    };
};

struct Cursors {
    std::optional<std::string> next;
};
template <>
struct Schema<Cursors> {
    static constexpr auto fields = std::tuple{field("next", &Cursors::next)};
};
struct PagingMetadata {
    Cursors cursors;
};
template <>
struct Schema<PagingMetadata> {
    static constexpr auto fields = std::tuple{field("cursors", &PagingMetadata::cursors)};
};

// ListMessages' body. An empty list may come without its array, as protobuf's JSON omits it.
struct PageBody {
    std::vector<Message> messages;
    PagingMetadata pagingMetadata;
};
template <>
struct Schema<PageBody> {
    static constexpr auto fields
        = std::tuple{field("messages", &PageBody::messages), field("pagingMetadata", &PageBody::pagingMetadata)};
};

// SendMessage's body.
struct SentBody {
    Message message;
};
template <>
struct Schema<SentBody> {
    static constexpr auto fields = std::tuple{field("message", &SentBody::message, required)};
};

} // namespace detail::json_schema

namespace {

// A message the server gives has its ID: the caller keeps it, and reconciles sends by it.
std::optional<Error> requireId(const Message& m, const std::string& path)
{
    if (!m.id.empty())
        return std::nullopt;
    return makeError(Errc::decodeError, "missing field '" + path + ".id'");
}

// The length of the well-formed UTF-8 sequence that `s` starts with, 0 if none: Unicode's
// Table 3-7, so no overlong form, no surrogate (U+D800..DFFF), nothing above U+10FFFF and
// no truncated sequence. A server may read any of those as another character than meant.
std::size_t sequenceLength(std::string_view s) noexcept
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

// The length of well-formed UTF-8 text in UTF-16 code units (a character beyond U+FFFF
// counts 2, as JavaScript and the JVM count a string's length: the stricter reading of the
// API's "characters", so that no text the client lets through is refused for its length);
// npos for text that is not well-formed UTF-8.
std::size_t utf16Length(std::string_view s) noexcept
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

std::optional<Error> invalid(std::string text)
{
    return makeError(Errc::invalidArgument, std::move(text));
}

std::optional<Error> checkText(std::string_view text, const std::string& what)
{
    if (text.empty())
        return invalid(what + " is empty");
    const auto characters = utf16Length(text);
    if (characters == std::string_view::npos)
        return invalid(what + " is not well-formed UTF-8");
    if (characters > maxTextCharacters)
        return invalid(what + " has " + std::to_string(characters) + " characters (at most "
                       + std::to_string(maxTextCharacters) + ")");
    return std::nullopt;
}

std::optional<Error> checkRaw(const RawJson& raw, const std::string& what)
{
    boost::system::error_code ec;
    const auto v = json::parse(raw.json, ec);
    if (ec || !v.is_object())
        return invalid(what + " is not one JSON object");
    return std::nullopt;
}

std::optional<Error> checkItem(const BasicItem& item, const std::string& what)
{
    return std::visit(
        [&](const auto& value) -> std::optional<Error> {
            using Kind = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<Kind, TextItem>)
                return checkText(value.text, what + ".text");
            else if constexpr (std::is_same_v<Kind, RawJson>)
                return checkRaw(value, what);
            else if (value.url.empty())
                return invalid(what + " has no url");
            else
                return std::nullopt;
        },
        item);
}

std::optional<Error> checkContent(const MessageContent& content)
{
    return std::visit(
        [&](const auto& value) -> std::optional<Error> {
            using Kind = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<Kind, BasicContent>) {
                if (value.items.empty())
                    return invalid("message.content.basic has no items");
                for (std::size_t i = 0; i < value.items.size(); ++i)
                    if (auto e = checkItem(value.items[i], "message.content.basic.items[" + std::to_string(i) + "]"))
                        return e;
                return std::nullopt;
            } else if constexpr (std::is_same_v<Kind, MinimalContent>) {
                return checkText(value.text, "message.content.minimal.text");
            } else {
                return checkRaw(value.value, "message.content");
            }
        },
        content);
}

} // namespace

std::optional<Error> detail::checkMessageToSend(const Message& m)
{
    if (m.visibility == Visibility::unknown)
        return invalid("message.visibility is required");
    if (m.direction == Direction::unknown)
        return invalid("message.direction is required");
    if (m.sender) {
        for (const auto* id : {&m.sender->anonymousVisitorId, &m.sender->memberId, &m.sender->contactId})
            if (*id && !isValidGuid(**id))
                return invalid("message.sender holds an ID that is not a GUID");
    }
    return checkContent(m.content);
}

bool detail::isWellFormedUtf8(std::string_view text) noexcept
{
    return utf16Length(text) != std::string_view::npos;
}

std::string detail::encodeSendMessageRequest(std::string_view conversationId, const Message& message,
                                             const SendMessageOptions& options)
{
    auto wire = json_schema::write(message).as_object();
    for (const auto* serverMade : {"id", "sequence", "createdDate"})
        wire.erase(serverMade);
    json::object body;
    body["conversationId"] = conversationId;
    body["message"] = std::move(wire);
    if (options.sendNotifications)
        body["sendNotifications"] = *options.sendNotifications;
    if (options.sendAs)
        body["sendAs"] = *options.sendAs == SendMessageOptions::SendAs::caller ? "CALLER" : "PARTICIPANT";
    return json::serialize(body);
}

std::string_view detail::wireName(Visibility v) noexcept
{
    return v == Visibility::business ? "BUSINESS" : "BUSINESS_AND_PARTICIPANT";
}

std::string_view detail::wireName(SortOrder o) noexcept
{
    return o == SortOrder::asc ? "ASC" : "DESC";
}

void detail::decodeMessagesPageInto(std::string_view body, Result<MessagesPage>& out)
{
    json_schema::PageBody page;
    if (auto failure = json_schema::decodeBody(body, page)) {
        out = std::move(*failure);
        return;
    }
    for (std::size_t i = 0; i < page.messages.size(); ++i) {
        if (auto failure = requireId(page.messages[i], "messages[" + std::to_string(i) + "]")) {
            out = std::move(*failure);
            return;
        }
    }
    out = MessagesPage{std::move(page.messages), std::move(page.pagingMetadata.cursors.next)};
}

void detail::decodeSentMessageInto(std::string_view body, Result<Message>& out)
{
    json_schema::SentBody sent;
    auto failure = json_schema::decodeBody(body, sent);
    if (!failure)
        failure = requireId(sent.message, "message");
    if (failure)
        out = std::move(*failure);
    else
        out = std::move(sent.message);
}

json::object toJson(const Message& m)
{
    return std::move(detail::json_schema::write(m).as_object());
}

Result<Message> decodeMessage(std::string_view json)
{
    Message m;
    if (auto failure = detail::json_schema::decodeBody(json, m, "message"))
        return std::move(*failure);
    return m;
}

Result<MessagesPage> decodeListMessagesResponse(std::string_view body)
{
    return detail::decodeWith(&detail::decodeMessagesPageInto, body);
}

Result<Message> decodeSendMessageResponse(std::string_view body)
{
    return detail::decodeWith(&detail::decodeSentMessageInto, body);
}

} // namespace wix::inbox
