// How long to wait before retry number `attempt` (1, 2, …): base, 2×base, 4×base … up to
// cap, with ±20 % jitter so many listeners cut off together do not come back in step.
export function backoff(attempt, base = 1000, cap = 30000) {
  return Math.round(Math.min(cap, base * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4));
}
