// The Solve page with verify-while-decoding: a candidate stopped at a failed written step is shown as stopped (its
// step, its text so far) and the candidate started in its place gets a pane; the verdict lists the stopped ones. Also
// checks that every select shows its options whole (no option text wider than its select), at a phone's width and a
// desktop's. Prints one JSON line.
// Usage: node test/rejection-page.mjs PAGE_URL CHROMIUM QUESTION SEED
import puppeteer from 'puppeteer-core';

const [pageUrl, chromium, question, seed] = process.argv.slice(2);

// Each select's options measured in the select's own font against the room it gives its text (its width less padding,
// border and the arrow): the options whose text does not fit.
const misfits = () => [...document.querySelectorAll('select')].flatMap((select) => {
  const style = getComputedStyle(select);
  const context = document.createElement('canvas').getContext('2d');
  context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 20;
  return [...select.options].filter((o) => context.measureText(o.text).width > room).map((o) => `${select.id}: ${o.text}`);
});

const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  const fits = {};
  for (const [name, width] of [['phone', 360], ['desktop', 1280]]) {
    await page.setViewport({ width, height: 900 });
    await page.goto(pageUrl, { waitUntil: 'load' });
    fits[name] = await page.evaluate(misfits);
  }
  await page.$eval('#question', (q, text) => { q.value = text; }, question);
  await page.select('#strategy', 'SAMPLING');
  await page.select('#rejection', 'REPLACE');
  await page.$eval('#n', (n) => { n.value = '4'; });
  await page.$eval('#max-new-tokens', (m) => { m.value = '48'; });
  await page.$eval('#seed', (s, value) => { s.value = value; }, seed);
  await page.click('#solve-button');
  await page.waitForSelector('#verdict-answer', { timeout: 120_000 });
  console.log(JSON.stringify({
    fits,
    ...await page.evaluate(() => ({
      panes: [...document.querySelectorAll('.pane')].map((p) => ({ id: p.id, state: p.dataset.state })),
      stops: [...document.querySelectorAll('.pane .stop')].map((s) => s.textContent),
      stoppedAnswers: [...document.querySelectorAll('.pane[data-state="stopped"] .answer')].map((a) => a.textContent),
      rejection: document.getElementById('plan-rejection')?.textContent ?? '',
      verdict: document.getElementById('verdict').textContent,
      tokens: document.getElementById('verdict-tokens')?.textContent ?? '',
    })),
  }));
} finally {
  await browser.close();
}
