// SPDX-License-Identifier: BSL-1.0
#include "line_scheduler.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace wix::inbox::cli {
namespace net = boost::asio;
constexpr auto useTuple = net::as_tuple(net::use_awaitable);

LineScheduler::LineScheduler(net::io_context& ioc, std::size_t concurrency, std::chrono::milliseconds giveUpAfter,
                             Clock::time_point start)
    : ioc_(ioc)
    , pacing_(concurrency, giveUpAfter, start)
    , window_(std::max<std::size_t>(1024, concurrency * 4))
    , wake_(ioc)
{
}

bool LineScheduler::roomForALine(std::uint64_t nextRead, std::uint64_t nextWrite) const
{
    return calls_ < pacing_.allowed() && nextRead < nextWrite + window_ && (!pacing_.probing() || pausing_ == 0);
}

net::awaitable<void> LineScheduler::wait()
{
    wake_.expires_at(Clock::time_point::max());
    co_await wake_.async_wait(useTuple);
}

void LineScheduler::wake()
{
    wake_.cancel();
}

void LineScheduler::lineEnded()
{
    --lines_;
    wake();
}

void LineScheduler::callEnded()
{
    --calls_;
    wake();
}

net::awaitable<bool> LineScheduler::pause(int round, Clock::time_point lineDeadline)
{
    using namespace std::chrono;
    auto delay = pacing_.pauseBefore(round, std::uniform_real_distribution<double>(0, 1)(random_));
    delay = std::min(delay, ceil<milliseconds>(lineDeadline - Clock::now()));
    net::steady_timer timer(ioc_, std::max(delay, milliseconds(0)));
    ++pausing_;
    auto [ec] = co_await timer.async_wait(useTuple);
    --pausing_;
    wake();
    co_return !ec;
}

} // namespace wix::inbox::cli
