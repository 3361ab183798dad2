// SPDX-License-Identifier: BSL-1.0
// The emulator's reading of ListMessages' query (both forms) and of its cursors: any text is
// a query, a problem or not a cursor, never a crash; a sealed cursor opens to itself.
#include "emulator/list_query.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace wix::inbox::emulator;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const CursorKey key{1, 2, 3};
    auto parsed = parseListQuery("/inbox/v2/messages?" + std::string(text));
    if (auto* q = std::get_if<ListQuery>(&parsed); q && q->cursor)
        (void)openCursor(*q->cursor, key);
    (void)openCursor(text, key);
    const Cursor c{std::string(text), "BUSINESS", "ASC", static_cast<std::int64_t>(size)};
    const auto opened = openCursor(sealCursor(c, key), key);
    if (text.find('|') == std::string_view::npos
        && (!opened || opened->conversationId != c.conversationId || opened->afterSequence != c.afterSequence))
        std::abort();
    return 0;
}
