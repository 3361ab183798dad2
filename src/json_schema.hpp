// SPDX-License-Identifier: BSL-1.0
// One generic JSON reader and writer for every model type. A type is described once, by its
// fields (Schema<T>: JSON name, member, flags); reading and writing follow the description.
// Reading walks a Boost.JSON document (json_body.hpp parses one when its faster reader does not
// take a body) and names the field at fault by its full path, e.g.
// "conversation.participant.memberId".
//
// Included only by the codec's .cpp files: its templates are instantiated there.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/model.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace wix::inbox::detail::json_schema {
namespace json = boost::json;

inline constexpr std::size_t maxDepth = 64;

enum Flags : unsigned {
    required = 1, ///< absent or null is an error (otherwise it leaves the member's default)
    guid = 2,     ///< a string (or strings) in the 8-4-4-4-12 form
    jsonText = 4, ///< a JSON string whose text is the value (as webhook envelopes nest them)
};

template <class T, class M>
struct Field {
    std::string_view name;
    M T::*member;
    unsigned flags = 0;
};

template <class T, class M>
constexpr Field<T, M> field(std::string_view name, M T::*member, unsigned flags = 0)
{
    return {name, member, flags};
}

/// Specialised per model type: `static constexpr auto fields = std::tuple{field(...), ...};`
/// and, when a rule spans fields, `static std::string_view missing(const T&)` naming the
/// relative path of a required field that is absent ("" when none).
template <class T>
struct Schema;

/// A field's name as a template argument: Wrapped<Message, "message">.
template <std::size_t N>
struct Key {
    constexpr Key(const char (&name)[N]) { std::copy_n(name, N, text); }
    constexpr std::string_view view() const { return {text, N - 1}; }
    char text[N];
};

/// A body that holds one required value under one name: {"conversation": Conversation},
/// {"message": Message}, a webhook's {"body": E}.
template <class T, Key name>
struct Wrapped {
    T value;
    friend bool operator==(const Wrapped&, const Wrapped&) = default;
};
template <class T, Key name>
struct Schema<Wrapped<T, name>> {
    static constexpr auto fields = std::tuple{field(name.view(), &Wrapped<T, name>::value, required)};
};

/// Specialised per enum type: `static constexpr std::array names{std::pair{E::x, "X"}, ...};`.
/// A name not in the list reads as E{} (the enum's "unknown"), which is never written.
template <class E>
struct EnumNames;

/// Specialised for a type read and written by hand (a oneof, a raw JSON object):
/// `static bool read(const json::value&, T&, const Path&, Reader&)`, `static json::value write(const T&)`.
template <class T>
struct Custom;

template <class T>
concept Described = requires { Schema<T>::fields; };
template <class T>
concept NamedEnum = std::is_enum_v<T> && requires { EnumNames<T>::names; };
template <class T>
concept HandWritten = requires { &Custom<T>::read; };

/// The wire name of an enum's value; empty for one with no name (E{}, "unknown").
template <NamedEnum E>
constexpr std::string_view wireName(E value) noexcept
{
    for (const auto& [v, wire] : EnumNames<E>::names)
        if (v == value)
            return wire;
    return {};
}

/// The value a wire name stands for; nothing for a name not in the list.
template <NamedEnum E>
constexpr std::optional<E> fromWireName(std::string_view name) noexcept
{
    for (const auto& [value, wire] : EnumNames<E>::names)
        if (name == wire)
            return value;
    return std::nullopt;
}

/// Where a value is in the document; its text is made only for an error.
struct Path {
    const Path* parent = nullptr; // null at the root
    std::string_view key;         // empty for an array element
    std::size_t index = 0;

    std::string text() const
    {
        if (!parent)
            return {};
        std::string s = parent->text();
        if (key.empty())
            return s + "[" + std::to_string(index) + "]";
        return s.empty() ? std::string(key) : s + "." + std::string(key);
    }
};

/// Holds the first failure of a read.
struct Reader {
    std::optional<Error> failure;

    bool fail(const Path& at, std::string_view what)
    {
        failure = makeError(Errc::decodeError, "field '" + at.text() + "' " + std::string(what));
        return false;
    }
    bool missing(const Path& at)
    {
        failure = makeError(Errc::decodeError, "missing field '" + at.text() + "'");
        return false;
    }
};

template <class T>
bool read(const json::value& v, T& out, const Path& at, Reader& r, unsigned flags = 0);

inline bool read(const json::value& v, std::string& out, const Path& at, Reader& r, unsigned flags)
{
    if (!v.is_string())
        return r.fail(at, "is not a string");
    const auto& s = v.get_string();
    // IDs from a server end up in paths and in the caller's storage: one that is not a GUID
    // (say "../../etc/passwd") is an error, not a value.
    if ((flags & guid) != 0 && !isValidGuid(std::string_view(s.data(), s.size())))
        return r.fail(at, "is not a GUID");
    out.assign(s.data(), s.size());
    return true;
}

inline bool read(const json::value& v, bool& out, const Path& at, Reader& r, unsigned)
{
    if (!v.is_bool())
        return r.fail(at, "is not a boolean");
    out = v.get_bool();
    return true;
}

// int64 goes on the wire as a decimal string (as protobuf's JSON mapping writes it); a
// number is accepted too.
inline bool read(const json::value& v, std::int64_t& out, const Path& at, Reader& r, unsigned)
{
    if (v.is_int64()) {
        out = v.get_int64();
        return true;
    }
    if (v.is_string()) {
        const auto& s = v.get_string();
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec == std::errc() && end == s.data() + s.size() && !s.empty())
            return true;
    }
    return r.fail(at, "is not a 64-bit integer");
}

inline bool read(const json::value& v, int& out, const Path& at, Reader& r, unsigned)
{
    if (!v.is_int64() || v.get_int64() < INT32_MIN || v.get_int64() > INT32_MAX)
        return r.fail(at, "is not a 32-bit integer");
    out = static_cast<int>(v.get_int64());
    return true;
}

// ChannelType has no default value to read into: its vector is read here.
inline bool read(const json::value& v, std::vector<ChannelType>& out, const Path& at, Reader& r, unsigned)
{
    if (!v.is_array())
        return r.fail(at, "is not an array");
    const auto& array = v.get_array();
    out.clear();
    out.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i) {
        if (!array[i].is_string())
            return r.fail(Path{&at, {}, i}, "is not a string");
        const auto& name = array[i].get_string();
        out.push_back(ChannelType::fromWire(std::string_view(name.data(), name.size())));
    }
    return true;
}

template <class T>
bool read(const json::value& v, std::optional<T>& out, const Path& at, Reader& r, unsigned flags)
{
    return read(v, out.emplace(), at, r, flags);
}

template <class T>
bool read(const json::value& v, std::vector<T>& out, const Path& at, Reader& r, unsigned flags)
{
    if (!v.is_array())
        return r.fail(at, "is not an array");
    const auto& array = v.get_array();
    out.clear();
    out.reserve(array.size());
    for (std::size_t i = 0; i < array.size(); ++i)
        if (!read(array[i], out.emplace_back(), Path{&at, {}, i}, r, flags))
            return false;
    return true;
}

// A value written as JSON text inside a string: parsed (as deep as a body may be) and read.
template <class T>
bool readJsonText(const json::value& v, T& out, const Path& at, Reader& r, unsigned flags)
{
    if (!v.is_string())
        return r.fail(at, "is not a JSON string");
    json::parse_options options;
    options.max_depth = maxDepth;
    boost::system::error_code ec;
    const json::value inner = json::parse(std::string_view(v.get_string().data(), v.get_string().size()), ec, {}, options);
    if (ec)
        return r.fail(at, "is not valid JSON text");
    return read(inner, out, at, r, flags & ~unsigned{jsonText});
}

template <class T>
bool readFields(const json::object& o, T& out, const Path& at, Reader& r)
{
    const bool ok = std::apply(
        [&](const auto&... f) {
            [[maybe_unused]] auto one = [&](const auto& fd) {
                const Path here{&at, fd.name};
                const json::value* v = o.if_contains(fd.name);
                if (!v || v->is_null())
                    return (fd.flags & required) == 0 || r.missing(here);
                if ((fd.flags & jsonText) != 0)
                    return readJsonText(*v, out.*(fd.member), here, r, fd.flags);
                return read(*v, out.*(fd.member), here, r, fd.flags);
            };
            return (one(f) && ...);
        },
        Schema<T>::fields);
    if constexpr (requires { Schema<T>::missing(out); }) {
        if (ok) {
            if (const std::string_view field = Schema<T>::missing(out); !field.empty())
                return r.missing(Path{&at, field});
        }
    }
    return ok;
}

template <class T>
bool read(const json::value& v, T& out, const Path& at, Reader& r, unsigned)
{
    if constexpr (HandWritten<T>) {
        return Custom<T>::read(v, out, at, r);
    } else if constexpr (NamedEnum<T>) {
        if (!v.is_string())
            return r.fail(at, "is not a string");
        out = fromWireName<T>(std::string_view(v.get_string().data(), v.get_string().size())).value_or(T{});
        return true;
    } else {
        static_assert(Described<T>, "a model type needs a Schema, EnumNames or Custom");
        if (!v.is_object())
            return r.fail(at, "is not an object");
        return readFields(v.get_object(), out, at, r);
    }
}

// Writing: the inverse of reading. Absent optionals, empty strings and arrays that are not
// required, and enums' "unknown" are left out.
inline json::value write(const std::string& s) { return json::string(s); }
inline json::value write(bool b) { return b; }
inline json::value write(std::int64_t n) { return json::string(std::to_string(n)); }
inline json::value write(int n) { return n; }
inline json::value write(const ChannelType& c) { return json::string(c.wireName()); }

template <class T>
json::value write(const T& value);

template <class T>
json::value write(const std::vector<T>& values)
{
    json::array a;
    a.reserve(values.size());
    for (const auto& v : values)
        a.push_back(write(v));
    return a;
}

template <class T>
bool present(const T& v, unsigned flags)
{
    if constexpr (std::is_same_v<T, std::string> || requires { v.empty(); v.begin(); })
        return (flags & required) != 0 || !v.empty(); // e.g. a message's ID before it is sent, no badges
    else if constexpr (requires { v.has_value(); })
        return v.has_value();
    else if constexpr (NamedEnum<T>)
        return v != T{};
    else
        return true;
}

template <class T>
json::value write(const T& value)
{
    if constexpr (HandWritten<T>) {
        return Custom<T>::write(value);
    } else if constexpr (NamedEnum<T>) {
        const auto wire = wireName(value);
        return wire.empty() ? json::value(nullptr) : json::value(json::string(wire));
    } else {
        json::object o;
        std::apply(
            [&](const auto&... f) {
                auto one = [&](const auto& fd) {
                    const auto& member = value.*(fd.member);
                    if (!present(member, fd.flags))
                        return;
                    json::value v;
                    if constexpr (requires { member.has_value(); })
                        v = write(*member);
                    else
                        v = write(member);
                    if ((fd.flags & jsonText) != 0)
                        v = json::string(json::serialize(v));
                    o[fd.name] = std::move(v);
                };
                (one(f), ...);
            },
            Schema<T>::fields);
        return o;
    }
}

} // namespace wix::inbox::detail::json_schema
