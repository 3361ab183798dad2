// SPDX-License-Identifier: BSL-1.0
// A guard around Beast 1.81's HTTP parser, shared by the client's response reading and the
// emulator's request reading: both feed the parser from their own buffer as bytes arrive.
#pragma once

#include <string_view>

namespace wix::inbox::detail {

/// True if `unparsed` (what the parser has not taken, in a chunked body) begins with the
/// last-chunk line ("0", extensions, CRLF; after the CRLF that ends the chunk before it) and
/// does not yet hold the blank line that ends the trailers. Beast's parser, handed such a
/// buffer again after it asked for more, asserts that at least two more bytes came
/// (basic_parser.ipp, parse_chunk_header): with one, a debug build aborts. The message
/// cannot end before the blank line anyway, so callers hand it over only then.
inline bool lastChunkAwaitingItsEnd(std::string_view unparsed)
{
    if (unparsed.starts_with("\r\n"))
        unparsed.remove_prefix(2);
    const auto zeros = unparsed.find_first_not_of('0');
    if (zeros == 0 || zeros == std::string_view::npos)
        return false;
    const auto lineEnd = unparsed.find("\r\n");
    if (lineEnd == std::string_view::npos || (unparsed[zeros] != ';' && zeros != lineEnd))
        return false;
    return unparsed.find("\r\n\r\n", lineEnd) == std::string_view::npos;
}

} // namespace wix::inbox::detail
