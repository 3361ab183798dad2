// SPDX-License-Identifier: BSL-1.0
#include "in_order_output.hpp"

namespace wix::inbox::cli {

void InOrderOutput::startAfter(std::uint64_t settled, std::uint64_t fingerprint)
{
    next_ = settled + 1;
    lastWritten_ = settled;
    fingerprint_ = fingerprint;
}

void InOrderOutput::complete(std::uint64_t n, std::string text, bool ok, std::uint64_t fingerprint, bool write)
{
    waiting_.emplace(n, Done{std::move(text), fingerprint, ok, write});
    while (!waiting_.empty() && waiting_.begin()->first == next_) {
        const auto& done = waiting_.begin()->second;
        if (done.write) {
            sink_.append(done.text);
            ++(done.ok ? ok_ : failed_);
            fingerprint_ = done.fingerprint;
            lastWritten_ = next_;
        }
        waiting_.erase(waiting_.begin());
        ++next_;
    }
}

} // namespace wix::inbox::cli
