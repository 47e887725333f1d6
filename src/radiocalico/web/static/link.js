// What the page's own loading says about the listener's link, before any segment is
// fetched: hls.js's first bandwidth estimate, from which Auto picks the rung to start on
// (auto.js: the best one the estimate sustains with its margin). Without it hls.js assumes
// its first variant's bitrate (High), which stalls and starts slowly on a slow link.
//
// Each resource large enough to outlast TCP's first round trips (hls.js itself, the fonts,
// a cover, later the segments) is timed from its first byte to its last; the fastest one
// counts, since the page's downloads share the link (so this errs low, and Auto climbs as
// hls.js measures the segments). With nothing measured (everything came from the cache):
// the lowest rung's worth, so Auto starts there and climbs.

const MIN_BYTES = 16 * 1024;
export const UNMEASURED_BPS = 100_000;

// Bits per second; `entries`: PerformanceResourceTiming-like objects.
export function linkEstimate(entries = performance.getEntriesByType("resource")) {
  let best = 0;
  for (const entry of entries) {
    const seconds = (entry.responseEnd - entry.responseStart) / 1000;
    if (entry.encodedBodySize >= MIN_BYTES && seconds > 0) {
      best = Math.max(best, (entry.encodedBodySize * 8) / seconds);
    }
  }
  return best || UNMEASURED_BPS;
}
