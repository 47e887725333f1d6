// How many are listening ("N listening" beside the player), from the public now-playing
// answer, every LISTENERS_MS; a failed poll keeps the last number.
const LISTENERS_MS = 15000;

export function watchListeners(client, onCount) {
  const poll = async () => {
    try {
      const { listeners } = await client.nowPlaying();
      onCount(listeners);
    } catch { /* keep the last number */ }
    setTimeout(poll, LISTENERS_MS);
  };
  poll();
}
