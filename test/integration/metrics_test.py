# SPDX-License-Identifier: BSL-1.0
"""wix-inbox batch --metrics-port: /metrics scraped while a batch runs, parsed with the
Prometheus client's own parser, and checked against what the emulator saw.

usage: metrics_test.py WIX_INBOX WIX_INBOX_EMULATOR
The batch reads a pipe the test keeps open, so the scrape is taken after every line is done
and before the job ends, when the counters can be compared with the emulator's exactly.
"""
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

CLI, EMULATOR = sys.argv[1], sys.argv[2]
API_KEY = "KEY-s3cr3t-metrics-key"
SITE = "5f0e7c1a-2b3c-4d5e-8f90-123456789abc"
TEMPLATES = {"/inbox/v2/conversations", "/inbox/v2/conversations/{conversationId}", "/inbox/v2/messages"}
ROUTES = {"GetOrCreateConversation": "getOrCreateConversation", "GetConversation": "getConversation"}
MEMBERS = ["00000000-0000-4000-8000-%012d" % i for i in range(60)]
MISSING = ["a1b2c3d4-0000-4000-8000-%012d" % i for i in range(5)]  # conversations that do not exist: 404
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAILED: " + what, file=sys.stderr)


def samples(text):
    out = []
    for family in text_string_to_metric_families(text):
        out.extend(family.samples)
    return out


def total(parsed, name, **labels):
    return sum(s.value for s in parsed if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        check(r.headers.get("Content-Type", "").startswith("text/plain"), "a text/plain scrape")
        return r.read().decode()


def until(what, condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)  # polling a condition, bounded by the deadline
    raise SystemExit("timed out waiting for " + what)


with tempfile.TemporaryDirectory() as work:
    emulator = subprocess.Popen([EMULATOR, "--port", "0", "--seed", "7", "--fault-503", "0.15", "--require-auth",
                                 "--api-key", API_KEY], stdout=subprocess.PIPE, text=True)
    batch = None
    try:
        started = json.loads(emulator.stdout.readline())
        base, ca = started["url"], started["ca_file"]
        admin = ssl.create_default_context(cafile=ca)
        env = dict(os.environ, WIX_API_KEY=API_KEY)  # the key never on a command line
        output = os.path.join(work, "out.ndjson")
        batch = subprocess.Popen([CLI, "--base-url", base, "--ca-file", ca, "--site-id", SITE, "batch",
                                  "--input", "-", "--output", output, "--concurrency", "8",
                                  "--progress-interval", "0", "--metrics-port", "0"],
                                 stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        announced = json.loads(batch.stderr.readline())
        url = announced["metrics"]
        check(url.startswith("http://127.0.0.1:") and url.endswith("/metrics"), "bound to 127.0.0.1: " + url)

        # A connection that sends half a request holds no scraper off (one used to, for 30 s).
        idle = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1].split("/")[0])))
        idle.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        # Before any line: the families exist, nothing counted yet.
        first = samples(scrape(url))
        check(total(first, "wix_inbox_batch_lines", state="done") == 0, "no line done before any input")

        lines = [{"memberId": m} for m in MEMBERS] + [{"conversationId": c} for c in MISSING]
        batch.stdin.write("".join(json.dumps(line) + "\n" for line in lines))
        batch.stdin.flush()
        text = until("every line done", lambda: (lambda t: t if total(samples(t), "wix_inbox_batch_lines",
                                                                      state="done") == len(lines) else None)(scrape(url)))
        check(batch.poll() is None, "the batch still runs while scraped")
        parsed = samples(text)
        with urllib.request.urlopen(base + "/_emulator/stats", context=admin, timeout=10) as r:
            stats = json.load(r)
        by_route, by_status = stats["byRoute"], stats["byStatus"]
        api_requests = sum(v for k, v in by_route.items() if k != "admin")

        attempts = total(parsed, "wix_inbox_attempts_total")
        print("attempts %d, emulator requests %d, 503s %s" % (attempts, api_requests, by_status.get("503")))
        check(attempts == api_requests, "attempts %d == requests the emulator saw %d" % (attempts, api_requests))
        for operation, route in ROUTES.items():
            mine, theirs = total(parsed, "wix_inbox_attempts_total", operation=operation), by_route.get(route, 0)
            check(mine == theirs, "%s attempts %d == the emulator's %d" % (operation, mine, theirs))
        check(total(parsed, "http_client_request_duration_seconds_count") == attempts, "histogram count == attempts")
        check(total(parsed, "http_client_request_duration_seconds_bucket", le="+Inf") == attempts,
              "the +Inf bucket holds every attempt")
        for status, count in by_status.items():
            mine = total(parsed, "http_client_request_duration_seconds_count", http_response_status_code=status)
            check(mine == count, "status %s: %d attempts == the emulator's %d" % (status, mine, count))
        check(by_status.get("503", 0) > 0, "the emulator's faults made some 503s")
        check(total(parsed, "http_client_request_duration_seconds_count", error_type="503") == by_status.get("503", 0),
              "error_type 503 counts the 503s")
        check(total(parsed, "http_client_request_duration_seconds_count", error_type="404") == len(MISSING),
              "error_type 404 once per missing conversation")
        retries = total(parsed, "wix_inbox_retries_total")
        check(0 < retries <= by_status.get("503", 0), "retries %d follow the 503s" % retries)
        buckets = sorted({float(s.labels["le"]) for s in parsed if s.name.endswith("_bucket")})
        check(buckets == [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, float("inf")],
              "OpenTelemetry's buckets: %s" % buckets)
        templates = {s.labels["url_template"] for s in parsed if "url_template" in s.labels}
        check(templates and templates <= TEMPLATES, "labels are url templates: %s" % templates)
        check(not any(i in text for i in MEMBERS + MISSING + [SITE]), "no participant, conversation or site ID")
        check(API_KEY not in text and "s3cr3t" not in text, "no secret in the scrape")
        check(total(parsed, "wix_inbox_batch_lines", state="failed") == len(MISSING), "failed lines")
        check(total(parsed, "wix_inbox_batch_lines", state="in_flight") == 0, "nothing in flight once done")
        opened = total(parsed, "wix_inbox_connections_total", event="opened")
        check(1 <= opened <= 8 + by_status.get("503", 0), "connections opened: %d" % opened)
        check(1 <= total(parsed, "wix_inbox_pool_connections", state="open") <= 8, "pooled connections open")
        check(total(parsed, "wix_inbox_pool_connections", state="idle") <= total(parsed, "wix_inbox_pool_connections",
                                                                                 state="open"), "idle <= open")

        _, err = batch.communicate(timeout=60)  # closes the input: the job ends
        check(batch.returncode == 2, "exit 2 (failed lines): %d %s" % (batch.returncode, err))
        with open(output) as f:
            check(sum(1 for _ in f) == len(lines), "one output line per input line")
    finally:
        if batch and batch.poll() is None:
            batch.kill()
            batch.wait()
        emulator.terminate()
        emulator.wait()

    # A port that cannot be taken is an error before any line is read.
    refused = subprocess.run([CLI, "--emulator", "batch", "--metrics-port", "70000"], input="", capture_output=True,
                             text=True, timeout=60)
    check(refused.returncode != 0 and "--metrics-port" in refused.stderr, "--metrics-port 70000 refused")
    # An address that is not an IPv4 literal is refused, never bound somewhere else.
    for address in ["256.0.0.0", "::1", " 127.0.0.1", "localhost"]:
        refused = subprocess.run([CLI, "--emulator", "batch", "--metrics-port", "0", "--metrics-address", address],
                                 input="", capture_output=True, text=True, timeout=60)
        check(refused.returncode == 1 and "--metrics-address takes an IPv4 address" in refused.stderr,
              "--metrics-address %r refused: %s" % (address, refused.stderr.strip()))

sys.exit(1 if failures else 0)
