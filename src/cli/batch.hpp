// `wix-inbox batch`: resolve an NDJSON file of participants (or conversation IDs) through
// the client, writing exactly one output line per input line, in input order, with bounded
// memory, and resumable after any interruption.
#pragma once

#include "cli/ndjson.hpp"

#include <wix/inbox/client.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <string>

namespace wix::inbox::cli {

struct BatchOptions {
    std::string input = "-";
    std::string output = "-";
    std::size_t concurrency = 64;
    bool resume = false;
};

struct BatchSummary {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::uint64_t skipped = 0; ///< lines already done by an earlier run (--resume)
    bool interrupted = false;
};

/// Runs the batch on `ioc` (the client's io_context). Throws std::runtime_error for fatal
/// problems (unreadable input, unwritable output, mismatched resume).
BatchSummary runBatch(boost::asio::io_context& ioc, Client& client, const BatchOptions& options);

} // namespace wix::inbox::cli
