// SPDX-License-Identifier: BSL-1.0
// The paging envelope every cursor-paged listing answers with: `{"pagingMetadata": {"cursors":
// {"next": ...}}}`, read by json_schema beside the listing's items.
#pragma once

#include "json_schema.hpp"

#include <optional>
#include <string>

namespace wix::inbox::detail::json_schema {

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

} // namespace wix::inbox::detail::json_schema
