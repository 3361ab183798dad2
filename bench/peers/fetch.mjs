// SPDX-License-Identifier: BSL-1.0
// Peer for bench/compare.sh: what a Node.js user gets from the built-in fetch (undici),
// as the official Wix SDK uses it: `concurrency` async loops POSTing for `warmup` +
// `seconds`, each reading the JSON body. Calls started during the warm-up (which opens the
// connections) are not measured. Trusts the CA through NODE_EXTRA_CA_CERTS.
// Usage: NODE_EXTRA_CA_CERTS=ca.pem node fetch.mjs URL CONCURRENCY WARMUP_SECONDS SECONDS BODY
const [url, concurrency, warmup, seconds, body] = process.argv.slice(2);
const latencies = [];
let errors = 0;
const start = performance.now() + Number(warmup) * 1000;
const stopAt = start + Number(seconds) * 1000;
let cpuStart = null;
setTimeout(() => { cpuStart = process.cpuUsage(); }, Number(warmup) * 1000);

async function loop() {
  while (performance.now() < stopAt) {
    const begin = performance.now();
    const measured = begin >= start;
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await r.json();
      if (!measured) continue;
      if (r.status === 200) latencies.push((performance.now() - begin) * 1000);
      else errors++;
    } catch {
      if (measured) errors++;
    }
  }
}

await Promise.all(Array.from({ length: Number(concurrency) }, loop));
const elapsed = (performance.now() - start) / 1000;
const cpu = cpuStart ? process.cpuUsage(cpuStart) : { user: 0, system: 0 };
latencies.sort((a, b) => a - b);
const percentile = (p) => (latencies.length ? latencies[Math.floor((p / 100) * (latencies.length - 1))] : 0);
console.log(JSON.stringify({
  requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed,
  p50_us: Math.round(percentile(50)), p99_us: Math.round(percentile(99)),
  cpu_s: (cpu.user + cpu.system) / 1e6,
}));
process.exitCode = errors ? 2 : 0;
