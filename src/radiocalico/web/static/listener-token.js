// The anonymous listener's token: a signed cookie without which the server refuses an
// anonymous vote (api/listener_token.py). The server sets it with the page, but only while
// the listener's address has tokens left: a listener behind a busy office or campus network
// (one address for everybody) may have loaded the page without one, and a browser may drop
// the cookie. This asks for a token again when a vote was refused for want of one, since
// the address may have tokens again by now, and puts what stands in the way of voting in
// the listener's words: the API's own messages are written for developers calling it.
//
// No events: Ratings asks when a vote needs it, and shows the answer with the vote's.

// Why a vote cannot count yet, in words for the listener (the error's message).
export class NotCountable extends Error {
  constructor(message) {
    super(message);
    this.name = "NotCountable";
  }
}

export class ListenerToken {
  constructor(client) {
    this.client = client;
    this.asking = null; // the request in flight: votes refused together wait for one token
  }

  // Resolves once the server has given this browser a token whose votes count now;
  // rejects with NotCountable when they cannot count yet, or with the request's ApiError.
  async renew() {
    this.asking ??= this.client.listenerToken().finally(() => { this.asking = null; });
    let wait;
    try {
      ({ votes_count_in_seconds: wait } = await this.asking);
    } catch (err) {
      // The address has had its share of new listeners (RATELIMIT_LISTENER_TOKENS): other
      // people on the same network; an account has no such limit.
      if (err.status === 429) {
        throw new NotCountable("Too many new listeners on your network right now: sign in to vote, or try again later.");
      }
      throw err;
    }
    // A new token counts only once it is LISTENER_TOKEN_MIN_AGE old; the vote is not kept
    // for later, since the listener may think better of it by then.
    if (wait > 0) throw new NotCountable(`Your votes count after ${duration(wait)} of listening: please vote again then.`);
  }
}

// "a second", "30 seconds", "a minute", "5 minutes": a wait as a listener would say it
// (never "30 s", which a screen reader spells out).
export function duration(seconds) {
  const whole = Math.max(1, Math.ceil(seconds));
  if (whole < 60) return whole === 1 ? "a second" : `${whole} seconds`;
  const minutes = Math.round(whole / 60);
  return minutes === 1 ? "a minute" : `${minutes} minutes`;
}
