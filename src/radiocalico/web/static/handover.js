// Moving between codec families (FLAC <-> AAC) where the engine cannot change codec inside
// one MediaSource (codec-probe.js says no: WebKit, or no SourceBuffer.changeType): a second
// media element with its own hls.js instance, started on the station's clock at the
// program-date-time heard, plays silently until it is buffered, playing and aligned with the
// audible one (within ALIGN_MS), then the two crossfade over FADE_MS and the new one takes
// the old one's place in the page. Nothing is skipped or repeated, and the silence is the
// crossfade's, not a reload's.
//
// The rest of the player holds `MediaSlot.media`, which stands for whichever element is
// audible: its properties and methods are the audible element's, and the listeners added
// through it move to the new element at the swap.
import Hls from "./vendor/hls.js@1.7.4/hls.light.min.mjs";

const ALIGN_MS = 20; // two program-date-times this close are one moment to the ear
const ALIGN_TRIES = 6;
const LEARN_MS = 250; // the longest a seek takes to resume
const FADE_MS = 60;
const FADE_STEPS = 6;
const TICK_POLL_MS = 4;
const TICK_WAIT_MS = 300; // over three FLAC frames: a clock still for longer is stalled
// The new element plays this long, silent, before it is aligned: a new WebKitGTK pipeline's
// clock stands still for 50-140 ms some 1 to 2 s after it starts, and with a 1 s wait that
// standstill fell in or just after the crossfade (the longest silence of each of 5 rounds of
// switches in tests/web/test_engines_browser.py: 39-142 ms); with 2.5 s, 5-15 ms. The old element plays on
// meanwhile, so the wait costs the listener nothing but a later switch.
const SETTLE_S = 2.5;
const READY_MS = 15000; // a new element not playing within this: the handover is abandoned

export class MediaSlot {
  constructor(element) {
    this.element = element;
    this.listeners = new Map(); // type -> [listener]
    this.dispatchers = new Map(); // type -> the one listener on the element
    this.quiet = false; // during a crossfade the volume moves, not the listener's choice
    this.media = new Proxy({}, {
      get: (_target, key) => {
        if (key === "addEventListener") return (type, fn) => this.listen(type, fn);
        if (key === "removeEventListener") return (type, fn) => this.unlisten(type, fn);
        const value = this.element[key];
        return typeof value === "function" ? value.bind(this.element) : value;
      },
      set: (_target, key, value) => {
        this.element[key] = value;
        return true;
      },
    });
  }

  listen(type, fn) {
    if (!this.listeners.has(type)) {
      this.listeners.set(type, []);
      const dispatch = (event) => {
        if (this.quiet && event.type === "volumechange") return;
        for (const listener of [...this.listeners.get(type)]) listener.call(this.media, event);
      };
      this.dispatchers.set(type, dispatch);
      this.element.addEventListener(type, dispatch);
    }
    this.listeners.get(type).push(fn);
  }

  unlisten(type, fn) {
    const list = this.listeners.get(type);
    if (list) this.listeners.set(type, list.filter((x) => x !== fn));
  }

  // `next` becomes the audible element: the listeners follow, and it takes the old one's
  // place (and id) in the page.
  swap(next) {
    const old = this.element;
    for (const [type, dispatch] of this.dispatchers) {
      old.removeEventListener(type, dispatch);
      next.addEventListener(type, dispatch);
    }
    next.id = old.id;
    if (old.isConnected) old.replaceWith(next);
    old.removeAttribute("id"); // the spare now, out of the page
    this.element = next;
    return old;
  }
}

function once(hls, event) {
  return new Promise((resolve) => hls.once(event, (_e, data) => resolve(data)));
}

function mediaEvent(element, type) {
  return new Promise((resolve) => element.addEventListener(type, resolve, { once: true }));
}

function within(promise, ms, what) {
  let timer;
  const late = new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The element a handover plays on, made once beside the audible one (a copy of it) and let
// play by the listener's press of Play (`unlock`). WebKit allows sound only from an element
// a user gesture has let play: one that started playing inaudible (volume 0) without one is
// paused as soon as it becomes audible, the first step of the crossfade, and play() is then
// refused (NotAllowedError), so a fresh element per handover falls silent in WebKitGTK. The
// two elements take turns instead: after a handover the old one is the spare.
export function spareOf(element) {
  const spare = element.cloneNode(false);
  spare.removeAttribute("id");
  return spare;
}

// Within a user gesture: lets `element` play later with sound (WebKit's permission is the
// element's, kept once given). It has no source yet, so nothing is heard.
export function unlock(element) {
  element.play().catch(() => {}); // AbortError: paused at once, it only had to be asked
  element.pause();
}

// Hands the audible `from` ({hls, element}) over to `level` in a new hls.js instance built
// by `makeHls(startLevel)` (loading `url`, the same master), on `element` (the spare).
// Resolves with the new {hls, element, gap (ms between the two as they crossfaded)}:
// playing, aligned and audible, the old one silenced (the caller swaps, `retire`s the old
// element and destroys its hls.js). Rejects (the old one still playing, as it was) when the
// new one cannot be made ready or aligned.
// `current()`: whether the handover is still wanted (asked before the crossfade).
export async function handOver(slot, from, element, level, url, makeHls, current = () => true) {
  const old = from.element;
  element.muted = old.muted;
  element.volume = 0;
  const hls = makeHls(level);
  try {
    const parsed = once(hls, Hls.Events.MANIFEST_PARSED);
    hls.attachMedia(element);
    hls.loadSource(url);
    await within(parsed, READY_MS, "no manifest");
    hls.loadLevel = level; // a manual level: hls.js's own ABR must not roam to another family
    // At hls.js's own live position: a start elsewhere, given before the level's playlist is
    // known, races the fragment hls.js has already asked for; `align` seeks instead.
    hls.startLoad(-1);
    await within(element.play(), READY_MS, "not playing");
    // Music first (SETTLE_S): a new WebKitGTK pipeline's clock stands still a while after it
    // starts, which must not happen once audible.
    await within(progress(element, SETTLE_S), READY_MS, "not progressing");
    const gap = await align(from.hls, hls, old, element);
    if (!current()) throw new Error("no longer wanted");
    await fade(slot, old, element);
    return { hls, element, gap };
  } catch (err) {
    hls.destroy();
    element.pause();
    element.removeAttribute("src");
    throw err;
  }
}

// Resolves once the element's clock moves (it is really playing, not just "playing").
async function progress(element, seconds = 0.05) {
  const from = element.currentTime;
  while (element.currentTime <= from + seconds || element.paused) await mediaEvent(element, "timeupdate");
}

// Seek the new element until it plays the moment the old one plays; never crossfade two
// moments apart (that would skip or repeat music). A seek lands late by the time the element
// takes to resume (some 40-90 ms in Chromium): `lead`, learnt from each seek's result, is
// added to the next one.
async function align(oldHls, newHls, old, element) {
  let lead = 0;
  for (let i = 0; ; i += 1) {
    await tick(old);
    const gap = newHls.playingDate?.getTime() - oldHls.playingDate?.getTime();
    if (!Number.isFinite(gap)) throw new Error("no program-date-time");
    if (Math.abs(gap) <= ALIGN_MS) return gap;
    if (i === ALIGN_TRIES) throw new Error(`not aligned: ${Math.round(gap)} ms apart`);
    // A seek that missed by more than a resume's delay landed elsewhere (out of the
    // buffer): nothing to learn from it.
    if (i > 0 && Math.abs(gap) <= LEARN_MS) lead -= gap / 1000;
    const seeked = mediaEvent(element, "seeked");
    element.currentTime += lead - gap / 1000;
    await within(seeked, READY_MS, "seek");
    await within(progress(element), READY_MS, "not progressing after the seek");
  }
}

// Resolves just after the element's clock moves on. WebKit's clock for FLAC moves in steps
// of a FLAC frame (83 ms at 48 kHz); read at any other moment it lags the sound by up to a
// step, which is no alignment at all. A clock that stands still (a stall) is read anyway.
async function tick(element) {
  const from = element.currentTime;
  const until = performance.now() + TICK_WAIT_MS;
  while (element.currentTime === from && performance.now() < until) await sleep(TICK_POLL_MS);
}

// The old element ends silent and still playing: the caller swaps, then stops it.
async function fade(slot, old, element) {
  const volume = old.volume;
  slot.quiet = true;
  try {
    for (let step = 1; step <= FADE_STEPS; step += 1) {
      const k = step / FADE_STEPS;
      element.volume = volume * k;
      old.volume = volume * (1 - k);
      await sleep(FADE_MS / FADE_STEPS);
    }
  } catch (err) {
    old.volume = volume;
    slot.quiet = false;
    throw err;
  }
}

// After `slot.swap`: the old element (no longer listened to) stops and gets its volume back.
export function retire(slot, old, volume) {
  old.pause();
  old.volume = volume;
  slot.quiet = false;
}
