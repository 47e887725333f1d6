// The stream's addresses from GET /api/config, asked again with backoff until the API
// answers: without them there is nothing to play.
import { backoff } from "./backoff.js";

export async function loadConfig(client, status) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await client.config();
    } catch {
      const wait = backoff(attempt + 1);
      status.set(`Cannot reach Radio Calico. Trying again in ${Math.round(wait / 1000)} s…`, "warn");
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
