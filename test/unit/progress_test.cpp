// SPDX-License-Identifier: BSL-1.0
#define BOOST_TEST_MODULE progress
#include <boost/test/unit_test.hpp>

#include "cli/progress.hpp"

using namespace wix::inbox::cli;

BOOST_AUTO_TEST_CASE(durations_read_as_people_write_them)
{
    BOOST_TEST(formatDuration(0) == "0s");
    BOOST_TEST(formatDuration(42.4) == "42s");
    BOOST_TEST(formatDuration(245) == "4m05s");
    BOOST_TEST(formatDuration(7413) == "2h03m");
}

BOOST_AUTO_TEST_CASE(the_line_never_reaches_the_last_column)
{
    ProgressView v;
    v.done = 123456;
    v.total = 1000000;
    v.callsPerSecond = 2900;
    v.failed = 12;
    v.retries = 345;
    v.throttled = 67;
    for (const unsigned columns : {20u, 40u, 70u, 80u, 200u}) {
        const auto line = renderProgress(v, columns);
        BOOST_TEST(line.size() <= columns - 1, columns << ": " << line);
    }
    const auto wide = renderProgress(v, 200);
    BOOST_TEST(wide.find("[###.") == 0u, wide);
    BOOST_TEST(wide.find("123456/1000000  ETA 5m02s  2900 calls/s  12 failed  345 retries  67 throttled") != std::string::npos,
               wide);
    const auto narrow = renderProgress(v, 70);
    BOOST_TEST(narrow.find("123456/1000000") != std::string::npos, narrow); // the bar gives way first
}

BOOST_AUTO_TEST_CASE(an_input_that_grew_past_its_count_shows_no_bar)
{
    ProgressView v;
    v.done = 150;
    v.total = 100;
    const auto line = renderProgress(v, 200);
    BOOST_TEST(line.find("150  ") == 0u, line);
    BOOST_TEST(line.find('[') == std::string::npos);
}
