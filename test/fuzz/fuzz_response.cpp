// SPDX-License-Identifier: BSL-1.0
// Response decoding: any body either decodes or yields a decodeError, never a crash, and
// what decodes round-trips through the encoder. The fast reader takes a body only when the
// document reader reads the same value from it.
#include <wix/inbox/codec.hpp>

#include "conversation_schema.hpp"
#include "json_body.hpp"

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    using namespace wix::inbox;
    if (auto r = decodeGetOrCreateConversationResponse(body)) {
        // What decodes must round-trip through our own encoder.
        const auto again = decodeGetOrCreateConversationResponse(boost::json::serialize(toJson(*r)));
        if (!again || !(*again == *r))
            std::abort();
    } else if (r.error().code != make_error_code(Errc::decodeError)) {
        std::abort();
    }
    if (auto c = decodeGetConversationResponse(body); !c && c.error().code != make_error_code(Errc::decodeError))
        std::abort();
    namespace schema = detail::json_schema;
    GetOrCreateConversationResponse fast, document;
    if (schema::fast::decode(body, fast) && (schema::readDocument(body, document, "body") || !(fast == document)))
        std::abort();
    return 0;
}
