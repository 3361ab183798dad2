// SPDX-License-Identifier: BSL-1.0
#include "line_pacing.hpp"

#include "progress.hpp"

#include <algorithm>

namespace wix::inbox::cli {

bool worthAnotherCall(const Command& operation, const BatchRequest& request, const Error& e)
{
    if (e.code == Errc::poolAcquireTimeout || (e.code == Errc::httpStatus && e.httpStatus == 429))
        return true;
    if (operation.reconciles && (e.code == Errc::outcomeUnknown || isTransient(e)))
        return true;
    if (operation.reconciles && request.participant && e.httpStatus == 404
        && e.application() == ApplicationError::conversationNotFound)
        return true;
    return operation.idempotent && isTransient(e);
}

LinePacing::LinePacing(std::size_t concurrency, std::chrono::milliseconds giveUpAfter, Clock::time_point start)
    : concurrency_(std::max<std::size_t>(1, concurrency))
    , giveUpAfter_(giveUpAfter)
    , allowed_(static_cast<double>(concurrency_))
    , lastAnswer_(start)
{
}

void LinePacing::onAnswer(bool succeeded, Clock::time_point now)
{
    lastAnswer_ = now;
    failureShare_ *= 1 - shareWeight;
    if (succeeded) // additive increase: one more call in flight per window of successes
        allowed_ = std::min(static_cast<double>(concurrency_), allowed_ + 1 / allowed_);
}

// Multiplicative decrease when nearly all calls fail (failures that strike a share of calls
// whatever the load are not eased by sending less), once per loss event: the failures of
// calls started before the last cut are that cut's.
std::optional<std::string> LinePacing::onTransientFailure(Clock::time_point callStarted, Clock::time_point now)
{
    failureShare_ = failureShare_ * (1 - shareWeight) + shareWeight;
    if (failing() && callStarted >= lastCut_) {
        allowed_ = std::max(1.0, allowed_ / 2);
        lastCut_ = now;
    }
    if (now - lastAnswer_ >= giveUpAfter_)
        return "no call has been answered for " + formatDuration(std::chrono::duration<double>(giveUpAfter_).count());
    return std::nullopt;
}

std::chrono::milliseconds LinePacing::pauseBefore(int round, double uniform01) const
{
    using std::chrono::milliseconds;
    const auto ceiling = (failing() ? milliseconds(1000) : milliseconds(250)) * (1 << std::min(round, failing() ? 4 : 2));
    return std::chrono::duration_cast<milliseconds>(ceiling * (0.5 + uniform01 / 2));
}

} // namespace wix::inbox::cli
