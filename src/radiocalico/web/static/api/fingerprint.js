// The anonymous listener's id: SHA-256 over stable browser traits plus a random value kept
// in this browser's storage (so two identical browsers are still two listeners). The server
// stores only an HMAC of it.
import { sha256Hex } from "../songid.js";

const INSTALL_KEY = "radiocalico.install";
let fingerprint = null;

function installId() {
  try {
    let id = localStorage.getItem(INSTALL_KEY) ?? "";
    if (!id) {
      id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem(INSTALL_KEY, id);
    }
    return id;
  } catch {
    return ""; // storage may be unavailable: traits only
  }
}

export async function listenerFingerprint() {
  if (fingerprint) return fingerprint;
  const traits = [
    navigator.userAgent,
    (navigator.languages ?? [navigator.language]).join(","),
    navigator.hardwareConcurrency ?? "",
    Intl.DateTimeFormat().resolvedOptions().timeZone ?? "",
    screen.colorDepth,
    `${screen.width}x${screen.height}`,
    installId(),
  ];
  fingerprint = await sha256Hex(traits.join("\u001f"));
  return fingerprint;
}
