// SPDX-License-Identifier: BSL-1.0
// Client-side rate limiting: how fast one Client (one tenant: one set of credentials) sends.
// Wix limits each app instance to 200 requests per minute; a client that knows it, or finds
// it, slows down instead of collecting 429s.
//
// Every attempt (retries included) takes its turn: a call waits for its turn asynchronously
// (no thread is blocked), in the order the calls asked (FIFO: only the head of the queue
// goes, at the pace in force when it gets there, so a cut or a raise applies at once to every
// waiting call). The wait counts against the call's deadline: a call whose turn would come
// after its deadline fails with Errc::timeout (RetryStop::deadline), at once if the present
// rate says so. Cancelling a waiting call ends it with Errc::cancelled and the calls behind it
// move up.
//
// A throttling answer is a 429, or a 503 whose Retry-After asks for a wait (> 0).
// - A 429 with Retry-After holds every call of the Client until then (fixed and adaptive
//   modes), and adaptive mode leaves its rate alone: the server said how long to wait. It
//   adapts to 429s without Retry-After (or with Retry-After: 0), as Wix's are.
// - A 503 with Retry-After delays the call that got it, and no other, and moves no rate:
//   services answer a few 503s at random, and holding every call for each (or cutting the
//   rate, which random throttles sink to its floor) would stall a job whose other calls
//   succeed. Four in a row, with no other answer between, are an outage (5% of answers at
//   random make that once in 160,000): every call is held until Retry-After from the last
//   one, then one request (a probe) goes per Retry-After period, until an answer other than
//   a 503 with Retry-After ends the outage (the calls held then go when their wait ends,
//   within a period). A tenant thus sends about one request per Retry-After to a service
//   that is down, however many calls it has in flight.
// Unless the mode is off, throttling answers take nothing from the retry budget (the limiter
// keeps them from storming); each uses an attempt of RetryPolicy::maxAttempts, which bounds
// the requests of a call, and the retry waits at least the backoff's draw.
//
// Adaptive mode reads throttling as congestion, as TCP reads loss: a server that throttles a
// share of requests at random without Retry-After, whatever the rate, drives it down to its
// floor. Such faults are for RateLimitOptions::off() (or a fixed rate).
//
// Adaptive mode, after AWS's adaptive retry mode (itself after TCP CUBIC):
// - until the first throttling answer there is no limit (one atomic load per call);
// - the first throttling answer (without Retry-After) sets the rate to beta = 0.7 times the
//   rate the server admitted so far (answers that were not throttled, per second, smoothed
//   0.8/0.2 over half-second windows; before the first window closes, every answer so far
//   as if in one second); each later one cuts the enforced rate by beta, once per loss
//   event as TCP does (the throttles of requests sent before the last cut are that cut's
//   event); never below 0.5 requests/s; bursts of up to max(1, rate) requests, and after a
//   cut the next request waits one interval at the new rate;
// - from the first cut to the second, every other answer raises the rate to double the first
//   cut's each second (as TCP's slow start): the first throttle says the server's bucket is
//   empty, not how fast it refills. It may have been emptied before the client sent much (a
//   busy minute, another process), so that the rate measured then is a request or two a
//   second; the second cut comes from a rate the client enforced;
// - from the second cut on, every other answer moves the rate along the cubic W(t) = C (t - K)^3 + Wmax, t the
//   seconds since the last cut, Wmax the rate before it, back to Wmax after K seconds and
//   probing above it after that: K = max(cbrt(Wmax (1 - beta) / 0.4), 120 / Wmax) and
//   C = Wmax (1 - beta) / K^3. The first term is CUBIC's (C = 0.4) and governs fast rates;
//   the second makes a recovery last at least 120 requests' worth, so that at 200/min a probe
//   past the limit (a throttled request) comes about once per 120 requests, as at 100/s.
//   The rate never grows past 1.2 times the admitted rate (probing, not far past what the
//   server admits) nor past `requestsPerSecond` when set.
#pragma once

namespace wix::inbox {

struct RateLimitOptions {
    enum class Mode {
        off,      ///< send as fast as calls come; Retry-After still delays the retried call
        fixed,    ///< at most `requestsPerSecond`, in bursts of at most `burst`
        adaptive, ///< find the server's limit from its throttling answers (see above)
    };
    Mode mode = Mode::adaptive;
    /// fixed: the rate, > 0. adaptive: a ceiling it never exceeds, 0 for none. Default 0.
    double requestsPerSecond = 0;
    /// fixed: requests that may go at once after a quiet spell, >= 1. Default 1.
    double burst = 1;

    static RateLimitOptions off() { return {Mode::off, 0, 1}; }
    /// Wix's documented limit is fixed(200.0 / 60).
    static RateLimitOptions fixed(double requestsPerSecond, double burst = 1)
    {
        return {Mode::fixed, requestsPerSecond, burst};
    }
};

} // namespace wix::inbox
