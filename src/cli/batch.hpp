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
    bool overwrite = false; ///< replace a non-empty output; without it (or resume) that is refused
};

struct BatchSummary {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::uint64_t skipped = 0; ///< lines already done by an earlier run (--resume)
    bool interrupted = false;
};

/// Runs the batch on `ioc` (the client's io_context). Throws std::runtime_error for fatal
/// problems, before anything is written where it can: the input and output are the same
/// file, a non-empty output without resume or overwrite, a resume of another input's
/// output; and during the run: unreadable input, unwritable output (a full disk).
/// A run with an output file keeps `OUTPUT.wix-inbox-state` beside it (cli/job_state.hpp).
BatchSummary runBatch(boost::asio::io_context& ioc, Client& client, const BatchOptions& options);

} // namespace wix::inbox::cli
