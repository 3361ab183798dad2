// SPDX-License-Identifier: BSL-1.0
// wix-inbox-microbench: the per-call CPU work that is ours, without I/O: building a
// request body, decoding a response, decoding an error envelope. Each benchmark also
// reports heap allocations per call (counted by the global operator new below).
#include <wix/inbox/codec.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::uint64_t> allocations{0};
}

void* operator new(std::size_t size)
{
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size ? size : 1))
        return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}

namespace {
namespace inbox = wix::inbox;

// A GetOrCreateConversation response as the emulator sends it for a member.
constexpr std::string_view response
    = R"({"conversation":{"id":"6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f","participant":{"memberId":)"
      R"("40090000-1a2b-4c3d-8e9f-0a1b2c3d4e5f","contactId":"50090000-1a2b-4c3d-8e9f-0a1b2c3d4e5f"},)"
      R"("channels":["CHAT"],"businessDisplayData":{"name":"cherry-productions","imageUrl":)"
      R"("https://static.wixstatic.com/media/logo.png"}},"newConversation":false})";
constexpr std::string_view errorEnvelope
    = R"({"message":"conversation not found","details":{"applicationError":{"code":"CONVERSATION_NOT_FOUND",)"
      R"("description":"conversation not found","data":{}}}})";

// Runs `body` once per iteration and reports the allocations it made per call.
template <class F>
void measure(benchmark::State& state, F body)
{
    const auto before = allocations.load();
    for (auto _ : state)
        body();
    state.counters["allocs/call"]
        = benchmark::Counter(static_cast<double>(allocations.load() - before), benchmark::Counter::kAvgIterations);
}

void encodeRequest(benchmark::State& state)
{
    const auto participant = inbox::ParticipantId::member("40090000-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
    measure(state, [&] {
        auto body = inbox::encodeGetOrCreateConversationRequest(participant);
        benchmark::DoNotOptimize(body);
    });
}

void validateGuid(benchmark::State& state)
{
    const std::string id = "40090000-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
    measure(state, [&] { benchmark::DoNotOptimize(inbox::isValidGuid(id)); });
}

void decodeResponse(benchmark::State& state)
{
    measure(state, [&] {
        auto r = inbox::decodeGetOrCreateConversationResponse(response);
        if (!r)
            state.SkipWithError("decode failed");
        benchmark::DoNotOptimize(r);
    });
}

void decodeError(benchmark::State& state)
{
    measure(state, [&] {
        inbox::Error e;
        inbox::decodeErrorBody(errorEnvelope, e);
        benchmark::DoNotOptimize(e);
    });
}

BENCHMARK(encodeRequest);
BENCHMARK(validateGuid);
BENCHMARK(decodeResponse);
BENCHMARK(decodeError);

} // namespace

BENCHMARK_MAIN();
