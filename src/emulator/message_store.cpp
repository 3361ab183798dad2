// SPDX-License-Identifier: BSL-1.0
#include "emulator/message_store.hpp"
#include "emulator/time_text.hpp"

#include <algorithm>
#include <charconv>

namespace wix::inbox::emulator {

std::string MessageStore::render(const Stored& m)
{
    return R"({"sequence":")" + std::to_string(m.sequence) + "\"," + m.fields + "}";
}

std::optional<std::string> MessageStore::append(const std::string& conversationId, bool participantVisible,
                                                std::string_view json)
{
    std::lock_guard lock(mutex_);
    auto& list = byConversation_[conversationId];
    if (list.size() >= maxPerConversation || total_ >= maxTotal)
        return std::nullopt;
    const std::uint64_t sent = ++sent_;
    std::string fields = R"("id":")" + std::to_string(firstId + sent) + R"(","createdDate":")" + isoNow() + "\"";
    const std::string_view inner = json.substr(1, json.size() - 2); // without the braces
    if (!inner.empty())
        fields.append(",").append(inner);
    const std::int64_t sequence = list.empty() ? 1 : list.back().sequence + 1;
    list.push_back({sequence, sent, participantVisible, std::move(fields)});
    ++total_;
    return render(list.back());
}

MessageStore::Page MessageStore::page(const std::string& conversationId, bool all, bool ascending,
                                      std::optional<std::int64_t> after, std::size_t limit) const
{
    Page page;
    std::lock_guard lock(mutex_);
    const auto it = byConversation_.find(conversationId);
    if (it == byConversation_.end())
        return page;
    const auto& list = it->second;
    std::int64_t lastTaken = 0;
    auto take = [&](const Stored& m) {
        if (!all && !m.participantVisible)
            return true;
        if (page.messages.size() == limit) { // one more exists: the page gets a next cursor
            page.lastSequence = lastTaken;
            return false;
        }
        page.messages.push_back(render(m));
        lastTaken = m.sequence;
        return true;
    };
    if (ascending) {
        auto from = std::upper_bound(list.begin(), list.end(), after.value_or(0),
                                     [](std::int64_t s, const Stored& m) { return s < m.sequence; });
        for (; from != list.end() && take(*from); ++from) {}
    } else {
        auto from = std::lower_bound(list.begin(), list.end(), after.value_or(INT64_MAX),
                                     [](const Stored& m, std::int64_t s) { return m.sequence < s; });
        for (auto r = std::make_reverse_iterator(from); r != list.rend() && take(*r); ++r) {}
    }
    return page;
}

std::optional<std::string> MessageStore::find(const std::string& conversationId, std::string_view messageId) const
{
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(messageId.data(), messageId.data() + messageId.size(), id);
    if (ec != std::errc() || end != messageId.data() + messageId.size() || id <= firstId)
        return std::nullopt;
    std::lock_guard lock(mutex_);
    const auto it = byConversation_.find(conversationId);
    if (it == byConversation_.end())
        return std::nullopt;
    for (const auto& m : it->second)
        if (m.sent == id - firstId)
            return render(m);
    return std::nullopt;
}

void MessageStore::merge(const std::string& from, const std::string& to)
{
    std::lock_guard lock(mutex_);
    const auto it = byConversation_.find(from);
    if (it == byConversation_.end() || from == to)
        return;
    auto moved = std::move(it->second);
    byConversation_.erase(it);
    auto& target = byConversation_[to];
    target.insert(target.end(), std::make_move_iterator(moved.begin()), std::make_move_iterator(moved.end()));
    std::sort(target.begin(), target.end(), [](const Stored& a, const Stored& b) { return a.sent < b.sent; });
    std::int64_t sequence = 0;
    for (auto& m : target)
        m.sequence = ++sequence;
}

void MessageStore::clear()
{
    std::lock_guard lock(mutex_);
    byConversation_.clear();
    total_ = 0;
}

std::size_t MessageStore::size() const
{
    std::lock_guard lock(mutex_);
    return total_;
}

} // namespace wix::inbox::emulator
