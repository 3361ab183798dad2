// SPDX-License-Identifier: BSL-1.0
// ListMessages' query, sans I/O: both forms the official SDK sends (plain parameters, and
// `.r=<base64url JSON>`), and the opaque cursors the emulator gives out (sealed with a key,
// so that a garbage or tampered cursor is refused, not followed).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace wix::inbox::emulator {

struct ListQuery {
    std::string conversationId;      ///< as given; checked by the service
    std::string visibility;          ///< a Visibility wire name (message_schema.hpp) if valid
    std::optional<std::int64_t> limit;
    std::optional<std::string> cursor;
    std::optional<std::string> order; ///< "ASC" or "DESC"
};

/// A field the request got wrong: the envelope's field violation.
struct QueryProblem {
    std::string field;
    std::string message;
    std::string rule;
};

/// Reads the query of `target` (after '?'). Checks the forms, not the values' meaning.
std::variant<ListQuery, QueryProblem> parseListQuery(std::string_view target);

/// Where a listing stands: what its next page continues after.
struct Cursor {
    std::string conversationId;
    std::string visibility;
    std::string order;
    std::int64_t afterSequence = 0;
};

using CursorKey = std::array<unsigned char, 32>;
std::string sealCursor(const Cursor& cursor, const CursorKey& key);
/// Nothing for text that is not a cursor sealed with `key`.
std::optional<Cursor> openCursor(std::string_view text, const CursorKey& key);

} // namespace wix::inbox::emulator
