// Auto's decisions: which rung of the ladder to play, and when to step down or up. No
// timers and no hls.js here: the quality controller feeds it the measured bandwidth and the
// stalls heard, with the time, so that the rules can be tested with a fake clock.
//
// Start: the best rung whose BANDWIDTH, with a margin, the measured bandwidth sustains (with
// nothing measured yet hls.js's default estimate answers, which picks High).
// Down, one rung at a time: after STALLS_TO_DROP stalls within STALL_WINDOW_MS, or when the
// bandwidth stays below the playing rung's own BANDWIDTH for DOWN_HOLD_MS.
// Up, one rung at a time: when the bandwidth has sustained the better rung with the margin
// for UP_HOLD_MS, with no stall for STALL_WINDOW_MS and not within COOLDOWN_MS of a step
// down. So a blip neither drops the quality nor lifts it, and it does not flap.

export const MARGIN = 1.5;
export const UP_HOLD_MS = 6000;
export const DOWN_HOLD_MS = 4000;
export const STALL_WINDOW_MS = 30000;
export const STALLS_TO_DROP = 2;
export const COOLDOWN_MS = 30000;

export class AutoPolicy {
  // `rungs`: the playable ladder, best first, each {name, bandwidth}.
  constructor(rungs, { margin = MARGIN } = {}) {
    this.rungs = rungs;
    this.margin = margin;
    this.current = null;
    this.stalls = []; // times of recent stalls
    this.sustainsBetterSince = null;
    this.shortSince = null;
    this.lastDownAt = -Infinity;
  }

  sustains(rung, estimate) {
    return Number.isFinite(estimate) && estimate >= rung.bandwidth * this.margin;
  }

  // The rung to start with, for a bandwidth `estimate` (bits/s, NaN when unknown).
  start(estimate) {
    const fit = this.rungs.find((r) => this.sustains(r, estimate));
    this.current = (fit ?? this.rungs.at(-1))?.name ?? null;
    return this.current;
  }

  stalled(now) {
    this.stalls = [...this.stalls.filter((t) => now - t < STALL_WINDOW_MS), now];
  }

  // One look at the situation: returns the rung to switch to, or null to stay.
  observe(now, estimate) {
    const i = this.rungs.findIndex((r) => r.name === this.current);
    if (i < 0) return null;
    this.stalls = this.stalls.filter((t) => now - t < STALL_WINDOW_MS);
    const here = this.rungs[i];
    const worse = this.rungs[i + 1];
    const better = this.rungs[i - 1];

    const short = Number.isFinite(estimate) && estimate < here.bandwidth;
    this.shortSince = short ? (this.shortSince ?? now) : null;
    if (worse && (this.stalls.length >= STALLS_TO_DROP || (short && now - this.shortSince >= DOWN_HOLD_MS))) {
      return this.move(worse, now, true);
    }

    const up = better && this.sustains(better, estimate);
    this.sustainsBetterSince = up ? (this.sustainsBetterSince ?? now) : null;
    if (up && now - this.sustainsBetterSince >= UP_HOLD_MS && !this.stalls.length
        && now - this.lastDownAt >= COOLDOWN_MS) {
      return this.move(better, now, false);
    }
    return null;
  }

  move(rung, now, down) {
    this.current = rung.name;
    this.sustainsBetterSince = null;
    this.shortSince = null;
    if (down) {
      this.lastDownAt = now;
      this.stalls = [];
    }
    return rung.name;
  }
}
