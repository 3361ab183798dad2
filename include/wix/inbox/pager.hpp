// SPDX-License-Identifier: BSL-1.0
// wix::inbox::Pager: walks a cursor-paged listing, one page per co_await.
//
//     auto pager = client.messages(conversationId, wix::inbox::Visibility::business);
//     while (!pager.done()) {
//         auto page = co_await pager.next();
//         if (!page) { log(page.error().describe()); break; } // next() may be asked again
//         for (const auto& m : page->messages) use(m);
//     }
//
// Every page is asked with the same parameters (the API requires it); the walk ends when a
// page has no next cursor, not when a page is short or full.
#pragma once

#include <wix/inbox/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace wix::inbox {

/// `Page` has `std::optional<std::string> nextCursor`. Thread-safety: one coroutine at a
/// time walks a pager; the pager must outlive the awaitable next() returns. A pager keeps
/// its Client's state alive (see Client's lifetime), not the Client.
template <class Page>
class Pager {
public:
    using Fetch = std::function<boost::asio::awaitable<Result<Page>>(const std::optional<std::string>& cursor)>;

    explicit Pager(Fetch fetch, std::optional<std::string> cursor = std::nullopt)
        : fetch_(std::move(fetch)), cursor_(std::move(cursor))
    {
    }

    /// True once the last page was given.
    bool done() const noexcept { return done_; }

    /// Where the walk stands: the cursor of the next page (none before the first). Keep it to
    /// continue later from another Pager.
    const std::optional<std::string>& cursor() const noexcept { return cursor_; }

    /// The next page. On an error the pager stays where it was: next() asks the same page
    /// again. After the last page: Errc::invalidArgument. A server that gives back the cursor
    /// it was asked with (which would never end) gives Errc::decodeError.
    boost::asio::awaitable<Result<Page>> next()
    {
        if (done_)
            co_return makeError(Errc::invalidArgument, "the listing has no more pages");
        auto page = co_await fetch_(cursor_);
        if (page) {
            if (page->nextCursor && page->nextCursor == cursor_)
                co_return makeError(Errc::decodeError, "the server gave back the cursor it was asked with");
            cursor_ = page->nextCursor;
            done_ = !cursor_;
        }
        co_return page;
    }

private:
    Fetch fetch_;
    std::optional<std::string> cursor_;
    bool done_ = false;
};

} // namespace wix::inbox
