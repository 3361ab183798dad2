// Message decoding: any body decodes or yields a decodeError, never a crash; what decodes
// round-trips through the encoder.
#include <wix/inbox/codec.hpp>

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    using namespace wix::inbox;
    const auto decodeErrorOnly = [](const Error& e) {
        if (e.code != make_error_code(Errc::decodeError))
            std::abort();
    };
    if (auto m = decodeMessage(body)) {
        const auto again = decodeMessage(boost::json::serialize(toJson(*m)));
        if (!again || !(*again == *m))
            std::abort();
    } else {
        decodeErrorOnly(m.error());
    }
    if (auto page = decodeListMessagesResponse(body); !page)
        decodeErrorOnly(page.error());
    if (auto sent = decodeSendMessageResponse(body); !sent)
        decodeErrorOnly(sent.error());
    return 0;
}
