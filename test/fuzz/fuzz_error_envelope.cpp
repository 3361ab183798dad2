// SPDX-License-Identifier: BSL-1.0
// The error envelope: any body fills an Error without failing.
#include <wix/inbox/codec.hpp>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    wix::inbox::Error e;
    e.httpStatus = 500;
    wix::inbox::decodeErrorBody(std::string_view(reinterpret_cast<const char*>(data), size), e);
    (void)e.describe();
    return 0;
}
