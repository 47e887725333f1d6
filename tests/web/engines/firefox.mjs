// Firefox ESR driven over WebDriver BiDi by puppeteer-core, for the Python browser tests.
// One command per stdin line, one answer per stdout line, both JSON:
//   {"op": "goto", "url": ...}                -> {"ok": null}
//   {"op": "evaluate", "expression": ...}     -> {"ok": <the awaited value>}
//   {"op": "click"|"fill"|"select", "selector": ..., "value": ...}
//   {"op": "reload"}, {"op": "errors"}        -> {"ok": [uncaught page errors so far]}
// A failed command answers {"error": message}; end of stdin closes the browser.
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const executablePath = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';
const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath,
  headless: true,
  // The tests press play through the page like a listener; Firefox's autoplay policy would
  // still hold back the first play() of a page that was never clicked by a human.
  extraPrefsFirefox: {
    'media.autoplay.default': 0, 'media.autoplay.blocking_policy': 0, 'media.autoplay.block-webaudio': false,
  },
});
const page = await browser.newPage();
await page.setViewport({ width: 1440, height: 900 });
page.setDefaultTimeout(15000);
const errors = [];
page.on('pageerror', (error) => errors.push(`uncaught: ${error.message ?? error}`));

const ops = {
  goto: ({ url }) => page.goto(url).then(() => null),
  reload: () => page.reload().then(() => null),
  // A string is evaluated as a script (not a function), which the page's CSP allows.
  evaluate: ({ expression }) => page.evaluate(expression),
  click: ({ selector }) => page.locator(selector).click().then(() => null),
  fill: ({ selector, value }) => page.locator(selector).fill(value).then(() => null),
  select: ({ selector, value }) => page.select(selector, value).then(() => null),
  errors: async () => errors.splice(0),
};

const answer = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
answer({ ok: await browser.version() });
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  try {
    answer({ ok: (await ops[command.op](command)) ?? null });
  } catch (error) {
    answer({ error: String(error?.message ?? error) });
  }
}
await browser.close();
