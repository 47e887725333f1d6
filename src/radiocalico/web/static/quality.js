// The listener's choice of stream quality (Auto, Lossless, High, Data saver), remembered in
// this browser, applied to every hls.js instance playback builds, and the rendition heard.
//
// A choice is applied with hls.js's `nextLevel`: the switch happens at a fragment boundary
// without a reload (every rendition shares one timeline, see station/hls.py), so the music
// and the now-playing title go on. Auto's rules are auto.js's; which level is which rendition
// is ladder.js's. Where this browser cannot decode FLAC in Media Source Extensions, the FLAC
// levels are removed from hls.js before it loads anything, so it never tries them.
//
// Between codec families (FLAC <-> AAC) `nextLevel` needs the engine to change codec inside
// one MediaSource; where it cannot (playback's probe says no, or has not answered yet) the
// switch is a handover to a second element (playback.changeFamily, handover.js), and within
// a family it stays `nextLevel`.
//
// What is shown as heard is the rung of the level of the fragment playing (hls.js
// FRAG_CHANGED) of the instance audible; before a fragment plays, of the level hls.js loads
// (LEVEL_SWITCHED).
//
// With redundant origins a rung is one level per origin (ladder.js). When an origin fails,
// hls.js moves to a redundant copy by itself and unpins the level as it does (its error
// handling sets loadLevel to -1, leaving its own ABR free to roam): the choice is pinned
// again on the copy it moved to, or, had it moved to another rung, the chosen rung's copy on
// the origin it moved to. A switch of rung goes to the copy on the origin that answers.
//
// Events: "change" ({choice, options: [{value, label, disabled}], heard, note}).
import Hls from "./vendor/hls.js@1.7.4/hls.light.min.mjs";
import { AutoPolicy } from "./auto.js";
import { browserMedia, NATIVE } from "./engine.js";
import { Emitter } from "./events.js";
import { buildLadder, CHOICES, codecFamily, copyNear, describe, LOSSLESS, NAMES, rungOf } from "./ladder.js";

const CHOICE_KEY = "radiocalico.quality";
const LOOK_MS = 1000;
const STALL_MIN_MS = 700; // a wait for data shorter than this is a blip, not a stall

const NO_FLAC = "Lossless isn't supported by this browser.";
const NATIVE_NOTE = "This browser picks the quality itself.";

function loadChoice() {
  try {
    const saved = localStorage.getItem(CHOICE_KEY);
    return CHOICES.includes(saved) ? saved : "auto";
  } catch {
    return "auto";
  }
}

function saveChoice(choice) {
  try {
    localStorage.setItem(CHOICE_KEY, choice);
  } catch { /* private mode */ }
}

// hls.js 1.7.4 decides whether the audio SourceBuffer must change codec by comparing the
// incoming codec with the buffer's, but reads the buffer's from the codec of the level it was
// created for whenever its own name for it is a short lower-case "flac" (its list knows only
// "fLaC"). Started on AAC and switched to FLAC, it then takes the FLAC buffer for AAC and never
// changes it back: the AAC segments fail to append. Keeping the recorded level codec equal to
// the buffer's present codec (after each BUFFER_CODECS, which hls.js handles first) makes
// every switch compare the right codecs. Guarded: a later hls.js without these fields is
// left alone.
function keepCodecSwitchable(hls) {
  const track = hls.bufferController?.tracks?.audio;
  const codec = track?.pendingCodec || track?.codec;
  if (codec && "levelCodec" in track) track.levelCodec = codec;
}

export class Quality extends Emitter {
  constructor(playback, media = browserMedia(playback.audio)) {
    super();
    this.playback = playback;
    this.media = media;
    this.choice = loadChoice();
    this.renditions = null; // metadatav2.json's, or null (the public CDN)
    this.stream = null;
    this.hls = null;
    this.ladder = [];
    this.offeredLossless = false; // the master playlist lists a lossless variant
    this.auto = null;
    this.heard = null; // the rung heard (or being loaded, before anything plays)
    this.waitingSince = null;

    playback.on("hls", (hls) => this.attach(hls));
    const audio = playback.audio;
    audio.addEventListener("waiting", () => {
      if (this.playback.wanted && this.playback.playingFor() > 1) this.waitingSince = performance.now();
    });
    audio.addEventListener("playing", () => this.stallEnded());
    setInterval(() => this.look(), LOOK_MS);
  }

  // metadatav2.json's `renditions` (null without) and stream_* fields, on each new version.
  setMetadata({ renditions = null, stream = null }) {
    const same = JSON.stringify([renditions, stream]) === JSON.stringify([this.renditions, this.stream]);
    this.renditions = renditions;
    this.stream = stream;
    if (!same && this.hls?.levels?.length) this.rebuild();
    else if (!same) this.render();
  }

  // The listener's wish, from the view.
  choose(choice) {
    if (!CHOICES.includes(choice) || choice === this.choice) return;
    this.choice = choice;
    saveChoice(choice);
    this.apply(false);
    this.render();
  }

  attach(hls) {
    this.hls = hls;
    this.heard = null;
    hls.on(Hls.Events.BUFFER_CODECS, () => keepCodecSwitchable(hls));
    hls.on(Hls.Events.MANIFEST_LOADED, (_e, data) => {
      this.offeredLossless = data.levels.some((l) => codecFamily(l.attrs?.CODECS ?? l.audioCodec) === "flac");
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      if (hls !== this.hls) return;
      this.dropUnplayable(hls);
      this.rebuild(true);
    });
    hls.on(Hls.Events.LEVEL_SWITCHING, (_e, { level }) => {
      if (hls === this.hls) this.follow(level);
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_e, { level }) => {
      if (hls === this.hls && !this.playing) this.hear(level);
    });
    hls.on(Hls.Events.FRAG_CHANGED, (_e, { frag }) => {
      if (hls === this.hls) this.hear(frag.level);
    });
    if (hls.levels?.length) { // handed over already playing (playback.changeFamily)
      this.rebuild();
      this.hear(hls.currentLevel);
      this.apply(false); // the choice may have moved during the handover
    }
  }

  get playing() {
    return this.playback.playing && this.playback.audio.readyState >= 2;
  }

  // Never let hls.js choose a level this browser cannot decode (hls.js itself drops most).
  dropUnplayable(hls) {
    if (this.media.flac) return;
    for (let i = hls.levels.length - 1; i >= 0; i -= 1) {
      const level = hls.levels[i];
      if (codecFamily(level.attrs?.CODECS ?? level.audioCodec) === "flac") hls.removeLevel(i);
    }
  }

  rebuild(initial = false) {
    const names = (ladder) => ladder.map((r) => r.name).join();
    const ladder = buildLadder(this.hls.levels, this.renditions, this.stream);
    const renamed = names(ladder) !== names(this.ladder);
    this.ladder = ladder;
    if (renamed || !this.auto) {
      const current = this.auto?.current;
      this.auto = new AutoPolicy(ladder);
      if (ladder.some((r) => r.name === current)) this.auto.current = current;
      else this.auto.start(this.hls.bandwidthEstimate);
    }
    if (initial || renamed) this.apply(initial);
    this.render();
  }

  // The rung the choice means now: the chosen one, or Auto's (also for a choice this
  // stream does not offer).
  target() {
    const chosen = this.ladder.find((r) => r.name === this.choice);
    if (chosen) return chosen;
    return this.ladder.find((r) => r.name === this.auto?.current) ?? this.ladder[0] ?? null;
  }

  apply(initial) {
    const rung = this.target();
    if (!this.hls || !rung) return;
    const level = copyNear(rung, this.hls.levels, this.hls.loadLevel);
    if (initial) {
      this.hls.startLevel = level;
      this.hls.loadLevel = level; // a manual level: hls.js's own ABR stays out of it
    } else if (!rung.levels.includes(this.hls.nextLevel) || !rung.levels.includes(this.hls.loadLevel)) {
      if (this.crossesFamilies(rung)) this.playback.changeFamily(level);
      else this.hls.nextLevel = level;
    } else if (this.hls.autoLevelEnabled) { // on the rung, unpinned by a failover: pinned where it is
      const loading = this.hls.loadLevel;
      this.hls.loadLevel = loading;
    }
  }

  // hls.js switches to `level` (LEVEL_SWITCHING). Left pinned, the switch was ours; unpinned,
  // it failed over (see the top).
  follow(level) {
    if (!this.hls.autoLevelEnabled) return;
    const rung = this.target();
    if (rung?.levels.includes(level)) {
      this.hls.loadLevel = level; // the level it is switching to: pinned, no second switch
    } else if (rung) {
      // After hls.js's own switch has run to its end: a switch from within it would load
      // the playlist of one level with the other's parameters.
      queueMicrotask(() => this.apply(false));
    }
  }

  // Whether going to `rung` asks the engine to change codec and it cannot (or may not).
  crossesFamilies(rung) {
    if (this.playback.codecSwitch === true) return false;
    const loading = rungOf(this.ladder, this.hls.loadLevel);
    return Boolean(loading) && loading.codec !== rung.codec;
  }

  hear(level) {
    const rung = rungOf(this.ladder, level);
    if (rung?.name === this.heard) return;
    this.heard = rung?.name ?? null;
    this.render();
  }

  stallEnded() {
    if (this.waitingSince !== null && performance.now() - this.waitingSince >= STALL_MIN_MS) {
      this.auto?.stalled(performance.now());
    }
    this.waitingSince = null;
  }

  // Auto's regular look at the bandwidth and the stalls; a stall still going on counts.
  look() {
    if (!this.auto || !this.hls || !this.playback.wanted) return;
    const now = performance.now();
    if (this.waitingSince !== null && now - this.waitingSince >= 3000) {
      this.auto.stalled(now);
      this.waitingSince = now; // counted; a stall that goes on counts again later
    }
    // A handover that could not be made (the new element never played) is tried again.
    const rung = this.target();
    if (rung && !this.playback.handing && !rung.levels.includes(this.hls.loadLevel) && this.crossesFamilies(rung)) {
      this.apply(false);
    }
    if (this.choice !== "auto" && this.ladder.some((r) => r.name === this.choice)) return;
    if (this.auto.observe(now, this.hls.bandwidthEstimate)) this.apply(false);
  }

  snapshot() {
    if (this.playback.engine === NATIVE) {
      return { choice: "auto", options: [{ value: "auto", label: NAMES.auto, disabled: false }],
        heard: "Chosen by the browser", note: NATIVE_NOTE };
    }
    const losslessKnown = this.offeredLossless || this.renditions?.some((r) => r.name === LOSSLESS);
    const options = CHOICES.map((value) => {
      const offered = value === "auto" || this.ladder.some((r) => r.name === value);
      const unplayable = value === LOSSLESS && !this.media.flac && losslessKnown;
      const label = unplayable ? `${NAMES[value]} (not supported here)` : NAMES[value];
      // Until the master playlist is read, every choice may be offered.
      return { value, label, disabled: unplayable || (this.ladder.length > 0 && !offered) };
    });
    const chosen = options.find((o) => o.value === this.choice);
    const heard = this.ladder.find((r) => r.name === this.heard);
    let note = "";
    if (!this.media.flac && losslessKnown) note = NO_FLAC;
    else if (chosen.disabled) note = `${NAMES[this.choice]} isn't offered by this stream: playing Auto.`;
    return {
      choice: chosen.disabled ? "auto" : this.choice,
      options,
      heard: heard ? describe(heard) : null,
      note,
    };
  }

  render() {
    this.emit("change", this.snapshot());
  }
}
