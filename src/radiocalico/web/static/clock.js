// The station's clock as seen from this page. Latency is "now minus the program-date-time
// being heard", and the program-date-time comes from the station's clock: a listener whose
// computer clock is off would see it in the latency. Each HTTP answer's Date header (whole
// seconds) bounds the difference between the two clocks; the bounds narrow with every
// answer, and the local clock is corrected by the least amount they allow (none at all when
// it agrees with the server, the usual case).

export class ServerClock {
  constructor() {
    this.low = -Infinity; // server minus local, in ms: at least this
    this.high = Infinity; // and at most this
  }

  // `date`: a Date header; `sent` and `received`: Date.now() around the request.
  observe(date, sent, received) {
    const server = Date.parse(date ?? "");
    if (!Number.isFinite(server)) return;
    // The server stamped some moment between sending and receiving, rounded down to a second.
    const low = server - received;
    const high = server + 1000 - sent;
    if (low > this.high || high < this.low) {
      // The local clock jumped (or was set): start again from this answer.
      this.low = low;
      this.high = high;
    } else {
      this.low = Math.max(this.low, low);
      this.high = Math.min(this.high, high);
    }
  }

  offset() {
    if (this.low > 0) return this.low;
    if (this.high < 0) return this.high;
    return 0;
  }

  now() {
    return Date.now() + this.offset();
  }
}
