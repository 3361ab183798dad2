// SPDX-License-Identifier: BSL-1.0
// The emulator's HTTP request reading (RequestReader): any bytes, in reads of any size,
// give whole requests or a refusal with 400, 413 or 431, and never more buffered input
// than the documented bound, whatever the chunk extensions, trailers or framing.
#include "emulator/request_reader.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using wix::inbox::emulator::RequestReader;
    if (size < 1)
        return 0;
    // The first byte sets the read size, so requests split at every point are tried.
    const std::size_t step = 1 + data[0] % 64;
    ++data;
    --size;
    RequestReader reader({512, 1024}); // small limits: the fuzzer reaches them
    for (std::size_t at = 0; at < size;) {
        const auto space = reader.prepare();
        const std::size_t n = std::min({step, space.size(), size - at});
        std::memcpy(space.data(), data + at, n);
        at += n;
        auto state = reader.commit(n);
        while (state == RequestReader::State::complete) {
            if (reader.request().body().size() > 1024)
                std::abort();
            reader.start(); // the next pipelined request
            state = reader.parse();
        }
        if (state == RequestReader::State::refused) {
            const int status = reader.refusal().status;
            if (status != 400 && status != 413 && status != 431)
                std::abort();
            return 0;
        }
        if (reader.buffered() > reader.maxBuffered())
            std::abort();
    }
    return 0;
}
