// Drives the Solve page in a real headless Chromium (puppeteer-core with the system browser) and reports each phase
// as one JSON line on stdout; the .NET test (WebPageTests) checks them and, between phases, the generator.
// Usage: node test/solve-page.mjs PAGE_URL LONG_PAGE_URL CHROMIUM SCREENSHOT API_KEY
//   PAGE_URL       a sprint serve page: the README question with n = 8, then an empty question
//   LONG_PAGE_URL  a sprint serve page whose candidates ignore EOS (Gateway:IgnoreEos) and that asks for API_KEY:
//                  first a Solve without the key, then with it, long enough to Stop
// After "streaming" it waits for the line "stop" on stdin, after "stopped" for "close" (then reports "kept").
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const [pageUrl, longPageUrl, chromium, screenshot, apiKey] = process.argv.slice(2);
const input = readline.createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const report = (phase, data = {}) => console.log(JSON.stringify({ phase, ...data }));
const waitFor = async (word) => {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`stdin ended before "${word}"`);
    if (value.trim() === word) return;
  }
};

// Records, in the page, when each candidate pane first shows text and when the verdict arrives.
const watch = () => {
  window.firstText = {};
  window.verdictAt = null;
  new MutationObserver(() => {
    for (const pane of document.querySelectorAll('.pane')) {
      const text = pane.querySelector('.text')?.textContent ?? '';
      if (text.length > 0 && !(pane.id in window.firstText)) window.firstText[pane.id] = performance.now();
    }
    if (document.getElementById('verdict-answer') && window.verdictAt === null) window.verdictAt = performance.now();
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
};

const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.evaluate(watch);
  await page.select('#strategy', 'SPRINT');
  await page.select('#rejection', 'NONE');   // eight candidates, each to its end (rejection has its own page test)
  await page.$eval('#n', (n) => { n.value = '8'; });
  await page.$eval('#temperature', (t) => { t.value = '0'; });   // greedy pruned candidates: a fixed verdict
  await page.click('#solve-button');
  await page.waitForSelector('#verdict-answer', { timeout: 120_000 });
  const solved = await page.evaluate(() => ({
    panes: document.querySelectorAll('.pane').length,
    firstText: window.firstText,
    verdictAt: window.verdictAt,
    answer: document.getElementById('verdict-answer').textContent,
    done: document.querySelectorAll('.pane[data-state="done"]').length,
    chosen: document.querySelectorAll('.pane.chosen').length,
    live: document.getElementById('verdict').getAttribute('aria-live'),
    checks: [...document.querySelectorAll('.pane .check[data-check]')].map((c) => c.textContent),
    rule: document.getElementById('verdict-rule').textContent,
  }));
  await page.screenshot({ path: screenshot, fullPage: true });
  report('solved', solved);

  await page.$eval('#question', (q) => { q.value = '   '; });
  await page.click('#solve-button');
  await page.waitForFunction(() => document.getElementById('question-error').textContent.length > 0, { timeout: 30_000 });
  report('field-error', await page.evaluate(() => ({
    error: document.getElementById('question-error').textContent,
    invalid: document.getElementById('question').getAttribute('aria-invalid'),
    focused: document.activeElement?.id,
    status: document.getElementById('status').textContent,
  })));

  const long = await browser.newPage();
  await long.goto(longPageUrl, { waitUntil: 'load' });
  await long.select('#strategy', 'SAMPLING');
  await long.select('#rejection', 'NONE');
  await long.$eval('#n', (n) => { n.value = '8'; });
  await long.$eval('#max-new-tokens', (m) => { m.value = '400'; });
  await long.click('#solve-button');
  await long.waitForFunction(() => document.getElementById('api-key-error').textContent.length > 0, { timeout: 30_000 });
  report('credential-error', await long.evaluate(() => ({
    error: document.getElementById('api-key-error').textContent,
    invalid: document.getElementById('api-key').getAttribute('aria-invalid'),
    focused: document.activeElement?.id,
    open: document.getElementById('api-key').closest('details').open,
  })));
  await long.type('#api-key', apiKey);
  await long.click('#solve-button');
  await long.waitForFunction(() => [...document.querySelectorAll('.pane .text')].some((t) => t.textContent.length > 0), { timeout: 60_000 });
  report('streaming');
  await waitFor('stop');
  await long.click('#stop-button');
  await long.waitForFunction(() => document.getElementById('status').textContent === 'Stopped.', { timeout: 30_000 });
  const stopped = await long.evaluate(() => ({
    verdict: document.getElementById('verdict').textContent,
    solveEnabled: !document.getElementById('solve-button').disabled,
    keyError: document.getElementById('api-key-error').textContent,
  }));
  report('stopped', stopped);
  await waitFor('close');
  // After the test has seen the batch empty with the page open: a reload keeps the key (this tab's sessionStorage).
  await long.reload({ waitUntil: 'load' });
  report('kept', { key: await long.$eval('#api-key', (k) => k.value) });
} finally {
  await browser.close();
  input.close();
}
report('done');
