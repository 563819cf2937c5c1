// The Solve page when the gateway cannot choose SPRINT's heads (its embedding service unreachable): the plan says it
// fell back to sampling and why. Prints one JSON line: the plan's caption, the fallback note, the verdict.
// Usage: node test/fallback-page.mjs PAGE_URL CHROMIUM
import puppeteer from 'puppeteer-core';

const [pageUrl, chromium] = process.argv.slice(2);
const browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.goto(pageUrl, { waitUntil: 'load' });
  await page.select('#strategy', 'SPRINT');
  await page.$eval('#n', (n) => { n.value = '2'; });
  await page.$eval('#max-new-tokens', (m) => { m.value = '8'; });
  await page.click('#solve-button');
  await page.waitForSelector('#verdict-answer', { timeout: 120_000 });
  console.log(JSON.stringify(await page.evaluate(() => ({
    caption: document.querySelector('#plan h2')?.textContent ?? '',
    fallback: document.getElementById('plan-fallback')?.textContent ?? '',
    verdict: document.getElementById('verdict-answer').textContent,
  }))));
} finally {
  await browser.close();
}
