// The one way controllers tell the rest of the page that something changed: each is an
// EventTarget whose events carry their data in `detail`, so a controller never knows who
// listens (views, other controllers) and data only flows outwards from it.

export class Emitter extends EventTarget {
  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  on(type, listener) {
    this.addEventListener(type, (event) => listener(event.detail));
    return this;
  }
}
