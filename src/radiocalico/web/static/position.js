// Where the listener is in the live stream: the program-date-time being heard, the latency
// heard (the station's now minus that), how far behind the newest published audio the
// playing position is, and how much audio is buffered ahead of it.
import { playingDateNative } from "./engine.js";

export class LivePosition {
  // `getHls()`: the current hls.js instance or null (native HLS); `clock.now()`: station time.
  constructor(audio, getHls, clock) {
    this.audio = audio;
    this.getHls = getHls;
    this.clock = clock;
    this.heard = null; // the last latency heard while playing, seconds
  }

  // Milliseconds on the stream's program-date-time clock of what is being heard, or null.
  playingDate() {
    if (this.getHls()) {
      const date = this.getHls().playingDate;
      return date ? date.getTime() : null;
    }
    return playingDateNative(this.audio.getStartDate?.(), this.audio.currentTime);
  }

  // Seconds between the station's now and what is being heard (the latency a listener
  // would measure with a clock next to the station), or null.
  latency() {
    if (this.audio.readyState < 2) return null;
    const date = this.playingDate();
    if (date === null) return this.edgeDistance();
    const latency = Math.max(0, (this.clock.now() - date) / 1000);
    if (!this.audio.paused) this.heard = latency;
    return latency;
  }

  // The latency a fresh start at live would have, in seconds: hls.js's distance behind the
  // newest segment, plus up to two segments' time the station needs to publish it and
  // hls.js to see it; never less than the latency last heard.
  expectedLatency() {
    const segment = this.getHls()?.levels?.[0]?.details?.targetduration ?? 2;
    return Math.max(this.heard ?? 0, this.targetLatency() + 2 * segment);
  }

  // Seconds between the newest audio published and what is being heard, or null: how far a
  // seek could bring the listener forward (the station needs a segment's time to publish).
  edgeDistance() {
    if (this.getHls()) {
      if (!this.getHls().levels?.length || this.audio.readyState < 2) return null;
      const latency = this.getHls().latency;
      return latency > 0 ? latency : null;
    }
    const { seekable } = this.audio;
    if (seekable.length && this.audio.readyState >= 2) {
      return Math.max(0, seekable.end(seekable.length - 1) - this.audio.currentTime);
    }
    return null;
  }

  targetLatency() {
    return this.getHls()?.targetLatency ?? 6;
  }

  behindLive() {
    const latency = this.edgeDistance();
    if (latency === null) return false;
    const slack = Math.max(3, 2 * (this.getHls()?.levels?.[0]?.details?.targetduration ?? 2));
    return latency > this.targetLatency() + slack;
  }

  // Milliseconds of audio buffered ahead of the playing position.
  bufferedAhead() {
    const { buffered, currentTime } = this.audio;
    for (let i = 0; i < buffered.length; i += 1) {
      if (buffered.start(i) <= currentTime + 0.1 && currentTime < buffered.end(i)) {
        return (buffered.end(i) - currentTime) * 1000;
      }
    }
    return 0;
  }
}
