// SPDX-License-Identifier: BSL-1.0
// Decoding a whole body into a model type. Two readers follow the same Schema (json_schema.hpp):
//  - the fast one takes the parser's events straight into the model, with no document in
//    between: for types with no hand-written part, when the body is what the schema says
//    (every value of its field's type, required fields there, no field twice);
//  - the document reader takes every other body, and is the one that explains what is wrong
//    with a body: whatever the fast reader does not take is read again from the start by it,
//    so a body gives the same value and the same error texts whichever reader took it.
//
// Included only by the codec's .cpp files: its templates are instantiated there.
#pragma once

#include "json_schema.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <cstdint>

namespace wix::inbox::detail::json_schema {
namespace fast {
using boost::system::error_code;

// What the fast reader knows of a type: its shape, and for containers how to reach inside.
struct Kind;

struct FieldKind {
    std::string_view name;
    unsigned flags;
    const Kind* kind;
    void* (*member)(void* object);
};

struct Kind {
    enum class Shape : std::uint8_t { string, int64, int32, boolean, named, channel, object, array, optional };
    Shape shape;
    const FieldKind* fields = nullptr; ///< object: its fields, in the schema's order
    std::size_t fieldCount = 0;
    bool (*complete)(const void* object) = nullptr; ///< object: its rule across fields is met
    const Kind* inner = nullptr;         ///< array: the elements'; optional: the value's
    void* (*make)(void* at) = nullptr;   ///< array: appends an element; optional: makes the value
    void (*clear)(void* at) = nullptr;   ///< array: empties it
    void (*name)(void* at, std::string_view wire) = nullptr; ///< named: sets it from its wire name
};

// ChannelType has no default value to make an element of: a channel is read straight into
// its list (the element's place is the vector itself).
using Channels = std::vector<ChannelType>;
inline constexpr Kind channelOfList{Kind::Shape::channel};

template <class T, class M>
M memberType(const Field<T, M>&);

template <class U>
concept Optional = requires { typename U::value_type; U{}.has_value(); };
template <class U>
concept List = requires { typename U::value_type; U{}.emplace_back(); };

template <class U>
constexpr bool readable();

template <class T>
constexpr bool fieldsReadable()
{
    return std::apply(
        [](const auto&... f) {
            return ((readable<decltype(memberType(f))>() && (f.flags & jsonText) == 0) && ...);
        },
        Schema<T>::fields);
}

/// Whether the fast reader can take a U: no hand-written part anywhere inside.
template <class U>
constexpr bool readable()
{
    if constexpr (std::is_same_v<U, std::string> || std::is_same_v<U, bool> || std::is_same_v<U, std::int64_t>
                  || std::is_same_v<U, int> || std::is_same_v<U, Channels> || NamedEnum<U>)
        return true;
    else if constexpr (Optional<U> || List<U>)
        return readable<typename U::value_type>();
    else if constexpr (Described<U> && !HandWritten<U>)
        return fieldsReadable<U>();
    else
        return false; // read by hand, or by no reader
}

template <class U>
constexpr const Kind* kindOf();

template <class T, std::size_t I>
void* memberOf(void* object)
{
    return &(static_cast<T*>(object)->*(std::get<I>(Schema<T>::fields).member));
}

template <class T, std::size_t... I>
constexpr auto fieldKinds(std::index_sequence<I...>)
{
    return std::array<FieldKind, sizeof...(I)>{FieldKind{std::get<I>(Schema<T>::fields).name,
                                                         std::get<I>(Schema<T>::fields).flags,
                                                         kindOf<decltype(memberType(std::get<I>(Schema<T>::fields)))>(),
                                                         &memberOf<T, I>}...};
}

template <class T>
inline constexpr auto fieldsOf = fieldKinds<T>(std::make_index_sequence<std::tuple_size_v<decltype(Schema<T>::fields)>>{});

template <class U>
constexpr Kind makeKind()
{
    using Shape = Kind::Shape;
    if constexpr (std::is_same_v<U, std::string>)
        return {Shape::string};
    else if constexpr (std::is_same_v<U, bool>)
        return {Shape::boolean};
    else if constexpr (std::is_same_v<U, std::int64_t>)
        return {Shape::int64};
    else if constexpr (std::is_same_v<U, int>)
        return {Shape::int32};
    else if constexpr (std::is_same_v<U, Channels>)
        return {.shape = Shape::array, .inner = &channelOfList, .make = [](void* at) { return at; },
                .clear = [](void* at) { static_cast<Channels*>(at)->clear(); }};
    else if constexpr (NamedEnum<U>)
        return {.shape = Shape::named, .name = [](void* at, std::string_view wire) {
                    *static_cast<U*>(at) = fromWireName<U>(wire).value_or(U{});
                }};
    else if constexpr (Optional<U>)
        return {.shape = Shape::optional, .inner = kindOf<typename U::value_type>(),
                .make = [](void* at) -> void* { return &static_cast<U*>(at)->emplace(); }};
    else if constexpr (List<U>)
        return {.shape = Shape::array, .inner = kindOf<typename U::value_type>(),
                .make = [](void* at) -> void* { return &static_cast<U*>(at)->emplace_back(); },
                .clear = [](void* at) { static_cast<U*>(at)->clear(); }};
    else {
        static_assert(fieldsOf<U>.size() <= 64, "the fast reader keeps a type's fields in a 64-bit mask");
        Kind k{.shape = Shape::object, .fields = fieldsOf<U>.data(), .fieldCount = fieldsOf<U>.size()};
        if constexpr (requires(const U& u) { Schema<U>::missing(u); })
            k.complete = [](const void* object) { return Schema<U>::missing(*static_cast<const U*>(object)).empty(); };
        return k;
    }
}

template <class U>
inline constexpr Kind kind = makeKind<U>();

template <class U>
constexpr const Kind* kindOf()
{
    return &kind<U>;
}

/// Boost.JSON's parser events, read into the model. Any value it does not take (of another
/// type than its field's, a field missing or given twice, a GUID that is not one) stops the
/// parse: the document reader then reads the body from the start and says why.
class EventReader {
public:
    // The document's own limits (those of json::parser's handler): a body past them (a string
    // over 2 GiB, when maxResponseBodyBytes allows such a body) is one the document reader
    // cannot read, so this reader must not take it either.
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    EventReader(const Kind& root, void* out) : root_(&root), out_(out) {}

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_comment_part(std::string_view, error_code& ec) { return refuse(ec); }
    bool on_comment(std::string_view, error_code& ec) { return refuse(ec); }
    bool on_number_part(std::string_view, error_code&) { return true; }

    bool on_object_begin(error_code& ec)
    {
        if (skipping(true))
            return true;
        Slot s;
        if (!slot(s) || s.kind->shape != Kind::Shape::object || depth_ == frames_.size())
            return refuse(ec);
        frames_[depth_++] = Frame{s.kind, s.at, s.flags};
        return true;
    }

    bool on_object_end(std::size_t, error_code& ec)
    {
        if (leaveSkipped())
            return true;
        const Frame& f = frames_[--depth_];
        for (std::size_t i = 0; i < f.kind->fieldCount; ++i)
            if ((f.kind->fields[i].flags & required) != 0 && (f.present & (std::uint64_t{1} << i)) == 0)
                return refuse(ec);
        if (f.kind->complete && !f.kind->complete(f.at))
            return refuse(ec);
        return true;
    }

    bool on_array_begin(error_code& ec)
    {
        if (skipping(true))
            return true;
        Slot s;
        if (!slot(s) || s.kind->shape != Kind::Shape::array || depth_ == frames_.size())
            return refuse(ec);
        s.kind->clear(s.at);
        frames_[depth_++] = Frame{s.kind, s.at, s.flags};
        return true;
    }

    bool on_array_end(std::size_t, error_code&)
    {
        if (!leaveSkipped())
            --depth_;
        return true;
    }

    // A key or a string given in parts: kept until its last part, unless it is skipped.
    bool on_key_part(std::string_view part, std::size_t, error_code&)
    {
        if (skip_ == 0)
            scratch_.append(part);
        return true;
    }

    bool on_key(std::string_view last, std::size_t, error_code& ec)
    {
        if (skip_ > 0)
            return true;
        const std::string_view key = whole(last);
        Frame& f = frames_[depth_ - 1];
        pending_ = nullptr;
        skipNext_ = true; // a field the schema does not name is left alone, as the document reader does
        for (std::size_t i = 0; i < f.kind->fieldCount; ++i) {
            if (f.kind->fields[i].name != key)
                continue;
            const auto bit = std::uint64_t{1} << i;
            if ((f.seen & bit) != 0)
                return refuse(ec); // given twice: the document reader decides which counts
            f.seen |= bit;
            f.present |= bit;
            pending_ = &f.kind->fields[i];
            skipNext_ = false;
            break;
        }
        scratch_.clear();
        return true;
    }

    bool on_string_part(std::string_view part, std::size_t size, error_code& ec)
    {
        return on_key_part(part, size, ec);
    }

    bool on_string(std::string_view last, std::size_t, error_code& ec)
    {
        if (skipping()) {
            scratch_.clear();
            return true;
        }
        const std::string_view text = whole(last);
        Slot s;
        bool taken = slot(s);
        if (taken) {
            switch (s.kind->shape) {
            case Kind::Shape::string:
                taken = (s.flags & guid) == 0 || isValidGuid(text);
                if (taken)
                    static_cast<std::string*>(s.at)->assign(text);
                break;
            case Kind::Shape::int64: {
                auto& out = *static_cast<std::int64_t*>(s.at);
                const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
                taken = error == std::errc() && end == text.data() + text.size() && !text.empty();
                break;
            }
            case Kind::Shape::named: s.kind->name(s.at, text); break;
            case Kind::Shape::channel: static_cast<Channels*>(s.at)->push_back(ChannelType::fromWire(text)); break;
            default: taken = false;
            }
        }
        scratch_.clear();
        return taken || refuse(ec);
    }

    bool on_int64(std::int64_t v, std::string_view, error_code& ec)
    {
        if (skipping())
            return true;
        Slot s;
        if (!slot(s))
            return refuse(ec);
        if (s.kind->shape == Kind::Shape::int64) {
            *static_cast<std::int64_t*>(s.at) = v;
            return true;
        }
        if (s.kind->shape == Kind::Shape::int32 && v >= INT32_MIN && v <= INT32_MAX) {
            *static_cast<int*>(s.at) = static_cast<int>(v);
            return true;
        }
        return refuse(ec);
    }

    bool on_uint64(std::uint64_t, std::string_view, error_code& ec) { return skipping() || refuse(ec); }
    bool on_double(double, std::string_view, error_code& ec) { return skipping() || refuse(ec); }

    bool on_bool(bool v, error_code& ec)
    {
        if (skipping())
            return true;
        Slot s;
        if (!slot(s) || s.kind->shape != Kind::Shape::boolean)
            return refuse(ec);
        *static_cast<bool*>(s.at) = v;
        return true;
    }

    // A field that is null is absent (its default stays); null anywhere else is not taken.
    bool on_null(error_code& ec)
    {
        if (skipping())
            return true;
        if (depth_ == 0 || frames_[depth_ - 1].kind->shape != Kind::Shape::object || !pending_)
            return refuse(ec);
        auto& f = frames_[depth_ - 1];
        f.present &= ~(std::uint64_t{1} << (pending_ - f.kind->fields));
        pending_ = nullptr;
        return true;
    }

private:
    struct Frame {
        const Kind* kind = nullptr;
        void* at = nullptr;
        unsigned flags = 0; ///< an array's: its field's, which its elements are read with
        std::uint64_t seen = 0;    ///< object: the fields named so far
        std::uint64_t present = 0; ///< object: those of them that are not null
    };
    struct Slot {
        const Kind* kind = nullptr;
        void* at = nullptr;
        unsigned flags = 0;
    };

    static bool refuse(error_code& ec)
    {
        ec = make_error_code(boost::json::error::syntax); // any error ends the parse
        return false;
    }

    // A value of a field the schema does not name: skipped whole, nested values included.
    // `opens`: the value is an object or an array, whose end comes later.
    bool skipping(bool opens = false)
    {
        if (skip_ == 0 && !std::exchange(skipNext_, false))
            return false;
        skip_ += opens ? 1 : 0;
        return true;
    }
    // Called at the end of an object or array: true if it was part of a skipped value.
    bool leaveSkipped()
    {
        if (skip_ == 0)
            return false;
        --skip_;
        return true;
    }

    std::string_view whole(std::string_view last)
    {
        if (scratch_.empty())
            return last;
        scratch_.append(last);
        return scratch_;
    }

    // Where the value that starts now goes; false if nothing takes one here.
    bool slot(Slot& s)
    {
        if (depth_ == 0) {
            if (!root_)
                return false;
            s = {std::exchange(root_, nullptr), out_, 0};
        } else if (Frame& f = frames_[depth_ - 1]; f.kind->shape == Kind::Shape::array) {
            s = {f.kind->inner, f.kind->make(f.at), f.flags};
        } else {
            if (!pending_)
                return false;
            s = {pending_->kind, pending_->member(f.at), pending_->flags};
            pending_ = nullptr;
        }
        while (s.kind->shape == Kind::Shape::optional) {
            s.at = s.kind->make(s.at);
            s.kind = s.kind->inner;
        }
        return true;
    }

    const Kind* root_;
    void* out_;
    std::array<Frame, maxDepth> frames_;
    std::size_t depth_ = 0;
    const FieldKind* pending_ = nullptr; // the field whose value comes next
    bool skipNext_ = false;              // the value that comes next is skipped
    std::size_t skip_ = 0;               // > 0: inside a skipped value (its nesting level)
    std::string scratch_;                // a key or string given in parts
};

/// Reads `body` into `out`; false (and `out` partly written) when the body is not taken.
template <class T>
bool decode(std::string_view body, T& out)
{
    json::parse_options options;
    options.max_depth = maxDepth;
    json::basic_parser<EventReader> parser(options, kind<T>, &out);
    error_code ec;
    const std::size_t used = parser.write_some(false, body.data(), body.size(), ec);
    return !ec && used == body.size() && parser.done();
}

} // namespace fast

/// Parses `body` (depth <= maxDepth) into a document and reads its root object into `out`;
/// `what` names the text in errors. The document and the parser's stack live in buffers on
/// this stack for a body of the usual size.
template <class T>
std::optional<Error> readDocument(std::string_view body, T& out, std::string_view what)
{
    unsigned char parserStack[1024];
    unsigned char document[4096];
    json::monotonic_resource resource(document, sizeof document);
    json::parse_options options;
    options.max_depth = maxDepth;
    json::parser parser(json::storage_ptr(), options, parserStack);
    parser.reset(&resource);
    boost::system::error_code ec;
    parser.write(body.data(), body.size(), ec);
    if (ec)
        return makeError(Errc::decodeError, std::string(what) + " is not valid JSON (" + ec.message() + ")");
    const json::value root = parser.release();
    if (!root.is_object())
        return makeError(Errc::decodeError, std::string(what) + " is not a JSON object");
    Reader r;
    readFields(root.get_object(), out, Path{}, r);
    return std::move(r.failure);
}

/// Reads `body` into `out` (a default value), by the fast reader when it takes the body and
/// from a document otherwise; `what` names the text in errors.
template <class T>
std::optional<Error> decodeBody(std::string_view body, T& out, std::string_view what = "response body")
{
    if constexpr (fast::readable<T>()) {
        if (fast::decode(body, out))
            return std::nullopt;
        out = T{};
    }
    return readDocument(body, out, what);
}

} // namespace wix::inbox::detail::json_schema
