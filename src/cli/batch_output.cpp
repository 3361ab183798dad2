// SPDX-License-Identifier: BSL-1.0
#include "batch_output.hpp"

#include "ndjson.hpp"
#include "owned_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wix::inbox::cli {
namespace {

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what + (errno ? std::string(": ") + std::strerror(errno) : std::string()));
}

// Reads one output line of `in` into `line`: false at the end. `count` is the lines read
// so far, to name a bad one.
bool readLine(std::ifstream& in, const std::string& path, PreviousOutput::Line& line, std::uint64_t& count)
{
    std::string text;
    auto* buffer = in.rdbuf();
    int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof())
        return false;
    const auto at = [&, number = ++count] { return "'" + path + "' line " + std::to_string(number); };
    for (; c != std::char_traits<char>::eof() && c != '\n'; c = buffer->sbumpc()) {
        if (text.size() == maxOutputLineBytes)
            throw std::runtime_error(at() + " is longer than 16 MiB: not a batch output");
        text.push_back(static_cast<char>(c));
    }
    const auto head = readOutputLine(text);
    if (!head)
        throw std::runtime_error(at() + " is not a batch output line");
    line = {head->line, head->ok, std::move(text)};
    return true;
}

} // namespace

OutputSink::OutputSink(const std::string& path, Open how, std::uint64_t keepBytes) : path_(path)
{
    if (path == "-")
        fd_ = ::dup(STDOUT_FILENO);
    else if (how == Open::makeOwn) {
        ::unlink(path.c_str()); // an interrupted pass's: the caller holds the job's lock
        fd_ = openOwnedFile(path, O_WRONLY | O_CREAT | O_EXCL, "temporary output");
    } else {
        // runBatch has refused to truncate anything the user did not ask to replace.
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (how == Open::append ? O_APPEND : O_TRUNC), 0644);
        if (fd_ >= 0 && how == Open::append && ::ftruncate(fd_, static_cast<off_t>(keepBytes)) != 0)
            fail("cannot cut the torn last line of '" + path + "'");
    }
    if (fd_ < 0)
        fail("cannot open output '" + path + "'");
}

OutputSink::~OutputSink()
{
    ::close(fd_);
}

void OutputSink::append(const std::string& line)
{
    pending_ += line;
    pending_ += '\n';
    if (pending_.size() >= 1 << 16)
        flush();
}

void OutputSink::flush()
{
    std::size_t done = 0;
    while (done < pending_.size()) {
        const auto n = ::write(fd_, pending_.data() + done, pending_.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("cannot write output '" + (path_ == "-" ? std::string("standard output") : path_) + "'");
        linesWritten_ += static_cast<std::uint64_t>(std::count(pending_.data() + done, pending_.data() + done + n, '\n'));
        done += static_cast<std::size_t>(n);
    }
    pending_.clear();
}

PreviousOutput::PreviousOutput(const std::string& path) : path_(path), in_(path, std::ios::binary)
{
    if (!in_)
        fail("cannot read '" + path + "'");
    advance();
}

std::optional<PreviousOutput::Line> PreviousOutput::take(std::uint64_t n)
{
    if (!next_ || next_->number > n)
        return std::nullopt;
    if (next_->number < n)
        throw std::runtime_error("'" + path_ + "' has its lines out of input order: not a batch output");
    auto line = std::move(next_);
    advance();
    return line;
}

void PreviousOutput::advance()
{
    Line line;
    next_.reset();
    if (readLine(in_, path_, line, linesRead_))
        next_ = std::move(line);
}

std::vector<std::uint64_t> PreviousOutput::failedLines(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail("cannot read '" + path + "'");
    std::vector<std::uint64_t> failed;
    std::uint64_t count = 0;
    for (Line line; readLine(in, path, line, count);)
        if (!line.ok)
            failed.push_back(line.number);
    std::sort(failed.begin(), failed.end()); // take() refuses an output out of order; this is read first
    return failed;
}

} // namespace wix::inbox::cli
