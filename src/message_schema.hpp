// SPDX-License-Identifier: BSL-1.0
// The JSON fields of the Messages model, listed once: read and written by json_schema. The
// oneofs (a basic item, a message's content) are read and written by hand (Custom).
#pragma once

#include "conversation_schema.hpp"

#include <wix/inbox/message.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>

namespace wix::inbox::detail::json_schema {

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

inline constexpr std::array<std::string_view, 3> itemKinds{"text", "image", "file"};

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
struct EnumNames<Orientation> {
    static constexpr std::array names{std::pair{Orientation::portrait, "PORTRAIT"},
                                      std::pair{Orientation::landscape, "LANDSCAPE"}};
};

template <>
struct Schema<PostbackProperties> {
    static constexpr auto fields = std::tuple{
        field("interactionId", &PostbackProperties::interactionId, required),
        field("appId", &PostbackProperties::appId),
    };
};

template <>
struct Schema<TemplateButton> {
    static constexpr auto fields = std::tuple{
        field("label", &TemplateButton::label, required),
        field("launchUrl", &TemplateButton::launchUrl),
        field("postbackProperties", &TemplateButton::postbackProperties),
    };
};

template <>
struct Schema<TemplateContent> {
    static constexpr auto fields = std::tuple{
        field("title", &TemplateContent::title),
        field("textLines", &TemplateContent::textLines),
        field("buttons", &TemplateContent::buttons),
        field("orientation", &TemplateContent::orientation),
        field("imageUrl", &TemplateContent::imageUrl),
    };
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
inline constexpr std::array<std::string_view, 5> contentKinds{"basic", "minimal", "template", "form", "system"};

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
                case 2: return json_schema::read(value, out.emplace<TemplateContent>(), here, r, 0);
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
                    if constexpr (Described<Kind>)
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

} // namespace wix::inbox::detail::json_schema
