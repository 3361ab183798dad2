// SPDX-License-Identifier: BSL-1.0
// The CLI's batch input lines: each parses to a request or an error message, and its
// output line is always one line of valid JSON.
#include "cli/ndjson.hpp"

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace wix::inbox::cli;
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const auto parsed = parseBatchLine(line);
    std::string out;
    if (const auto* request = std::get_if<BatchRequest>(&parsed)) {
        wix::inbox::Error e; // messages are UTF-8 text; these characters need escaping
        e.message = "quote \" backslash \\ newline \n tab \t";
        out = errorLine(7, request->passthrough, e);
    } else {
        out = inputErrorLine(7, std::get<std::string>(parsed));
    }
    boost::system::error_code ec;
    const auto v = boost::json::parse(out, ec);
    if (ec || out.find('\n') != std::string::npos || !v.is_object() || v.at("line").as_int64() != 7)
        std::abort();
    return 0;
}
