// Client-side rate limiting: how fast one Client (one tenant: one set of credentials) sends.
// Wix limits each app instance to 200 requests per minute; a client that knows it, or finds
// it, slows down instead of collecting 429s.
//
// Every attempt (retries included) takes its turn: a call waits for its turn asynchronously
// (no thread is blocked), in the order the calls asked (FIFO), and the wait counts against
// its deadline: a call whose turn would come after its deadline fails at once with
// Errc::timeout (RetryStop::deadline). Cancelling a waiting call ends it with
// Errc::cancelled; its turn is not given to another call.
//
// A throttling answer is a 429, or a 503 whose Retry-After asks for a wait (> 0). One that
// carries Retry-After holds every call of the Client until then (fixed and adaptive modes),
// and adaptive mode leaves its rate alone: the server said how long to wait. It adapts to
// throttles without Retry-After, as Wix's 429s are.
// Unless the mode is off, throttling answers take nothing from the retry budget and use no
// attempt of RetryPolicy::maxAttempts: a throttled call is retried until its deadline.
//
// Adaptive mode reads throttling as congestion, as TCP reads loss: a server that throttles a
// share of requests at random without Retry-After, whatever the rate, drives it down to its
// floor. Such faults are for RateLimitOptions::off() (or a fixed rate).
//
// Adaptive mode, after AWS's adaptive retry mode (itself after TCP CUBIC):
// - until the first throttling answer there is no limit (one atomic load per call);
// - the first throttling answer (without Retry-After) sets the rate to beta = 0.7 times the rate the server
//   admitted so far (answers that were not throttled, per second, smoothed 0.8/0.2 over
//   half-second windows); each later one cuts the enforced rate (or twice the admitted rate,
//   if that is lower) by beta, once per loss event
//   as TCP does (the throttles of requests whose turns were given before the last cut are
//   that cut's event); never below 0.5 requests/s; bursts of up to max(1, rate) requests,
//   none right after a cut;
// - every other answer moves the rate along the cubic W(t) = C (t - K)^3 + Wmax, C = 0.4,
//   t the seconds since the last throttling answer, Wmax the rate before it and
//   K = cbrt(Wmax (1 - beta) / C): back to Wmax after K seconds, then probing above it,
//   capped at 1.2 times the admitted rate (probing, but not far past what the server
//   admits) and at `requestsPerSecond` when set.
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
