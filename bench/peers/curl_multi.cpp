// SPDX-License-Identifier: BSL-1.0
// Peer for bench/compare.sh: what a C++ user might write instead of wix-inbox-cpp, a
// libcurl multi-interface client keeping `concurrency` POSTs in flight on keep-alive
// connections for `warmup` + `seconds`. Calls started during the warm-up (which opens the
// connections) are not measured. Prints one JSON line: requests, rps, latency, CPU.
// Build: g++ -O2 -std=c++20 curl_multi.cpp -lcurl
#include <curl/curl.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

struct Call {
    CURL* easy = nullptr;
    std::string body;
    Clock::time_point start;
};

size_t collect(char* data, size_t size, size_t count, void* user)
{
    static_cast<Call*>(user)->body.append(data, size * count);
    return size * count;
}

double cpuSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
         + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s URL CA_FILE CONCURRENCY WARMUP_SECONDS SECONDS BODY\n", argv[0]);
        return 1;
    }
    const char* url = argv[1];
    const char* ca = argv[2];
    const auto concurrency = static_cast<std::size_t>(std::atol(argv[3]));
    const double warmup = std::atof(argv[4]);
    const double seconds = std::atof(argv[5]);
    const std::string payload = argv[6];

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(concurrency));
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");

    std::vector<Call> calls(concurrency);
    std::vector<double> latencies;
    latencies.reserve(1 << 20);
    long errors = 0;
    auto after = [](Clock::time_point t, double s) {
        return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
    };
    const auto start = after(Clock::now(), warmup);
    const auto stopAt = after(start, seconds);
    double cpuStart = -1;

    auto launch = [&](Call& c) {
        c.body.clear();
        c.start = Clock::now();
        curl_multi_add_handle(multi, c.easy);
    };
    for (auto& c : calls) {
        c.easy = curl_easy_init();
        curl_easy_setopt(c.easy, CURLOPT_URL, url);
        curl_easy_setopt(c.easy, CURLOPT_CAINFO, ca);
        curl_easy_setopt(c.easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c.easy, CURLOPT_POSTFIELDS, payload.c_str());
        curl_easy_setopt(c.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
        curl_easy_setopt(c.easy, CURLOPT_WRITEFUNCTION, &collect);
        curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, &c);
        curl_easy_setopt(c.easy, CURLOPT_PRIVATE, &c);
        curl_easy_setopt(c.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        launch(c);
    }

    int running = static_cast<int>(concurrency);
    while (running > 0) {
        curl_multi_perform(multi, &running);
        int queued = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
            if (m->msg != CURLMSG_DONE)
                continue;
            Call* c = nullptr;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &c);
            long status = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            const auto now = Clock::now();
            if (cpuStart < 0 && now >= start)
                cpuStart = cpuSeconds();
            const bool measured = c->start >= start; // not a warm-up call
            if (measured && (m->data.result != CURLE_OK || status != 200))
                ++errors;
            else if (measured)
                latencies.push_back(std::chrono::duration<double, std::micro>(now - c->start).count());
            curl_multi_remove_handle(multi, c->easy);
            if (now < stopAt) {
                launch(*c);
                ++running;
            }
        }
        if (running > 0)
            curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu = cpuStart < 0 ? 0 : cpuSeconds() - cpuStart;

    std::sort(latencies.begin(), latencies.end());
    auto percentile = [&](double p) {
        return latencies.empty() ? 0.0 : latencies[static_cast<std::size_t>(p / 100 * double(latencies.size() - 1))];
    };
    const auto n = latencies.size();
    std::printf("{\"requests\":%zu,\"errors\":%ld,\"seconds\":%.3f,\"rps\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
                "\"cpu_s\":%.3f}\n",
                n, errors, elapsed, double(n) / elapsed, percentile(50), percentile(99), cpu);
    for (auto& c : calls)
        curl_easy_cleanup(c.easy);
    curl_slist_free_all(headers);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return errors ? 2 : 0;
}
