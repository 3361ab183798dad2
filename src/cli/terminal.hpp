// SPDX-License-Identifier: BSL-1.0
// Text from a server is data, not terminal control: what the CLI prints of it is escaped.
#pragma once

#include <string>
#include <string_view>

namespace wix::inbox::cli {

/// Longest server text (an error message) the CLI prints or writes; the rest is cut.
constexpr std::size_t maxPrintedText = 1024;

/// `text` for a terminal: control characters (C0 such as ESC, CR, LF, NUL; DEL; and C1,
/// U+0080-U+009F) as \xNN or \u00NN escapes, bytes that are not UTF-8 as \xNN, and cut
/// after `max` bytes with a note of how much was cut.
std::string printable(std::string_view text, std::size_t max = maxPrintedText);

/// Serialized JSON made safe for a terminal: the JSON serializer escapes C0 controls but
/// leaves DEL and C1 controls as they are; this writes them as \u escapes (same value).
std::string terminalSafeJson(std::string json);

/// The first `max` bytes of `text`, not splitting a UTF-8 sequence, with "…" if cut.
std::string truncated(std::string_view text, std::size_t max = maxPrintedText);

} // namespace wix::inbox::cli
