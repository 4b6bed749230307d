// What every browser journey file shares: Debian's chromium through
// playwright-core (never a downloaded browser), axe-core against WCAG 2.0,
// 2.1 and 2.2 A and AA on every page a journey visits (any violation
// fails), screenshots when SCREENSHOTS_DIR is set, and the runner, which
// runs the journeys named in JOURNEY (all by default) and exits non-zero on
// a failure, naming it.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const SHOTS = process.env.SCREENSHOTS_DIR;
const ONLY = process.env.JOURNEY;
if (SHOTS) mkdirSync(SHOTS, { recursive: true });

const audited = new Set();
let axeChecks = 0;

/** axe-core on the page as it is now: 0 violations, or the test fails naming them. */
export async function axe(page, label) {
  // Through the debugging protocol: the page's CSP (rightly) refuses an
  // injected inline script.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(AXE);
  const result = await page.evaluate(
    (tags) => globalThis.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
    AXE_TAGS,
  );
  axeChecks += 1;
  audited.add(label);
  const found = result.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
  assert.deepEqual(found, [], `axe on ${label} (${page.url()})`);
}

export async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Clicks the main button and waits for the page it leads to. */
export async function proceed(page, name = 'Continue') {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name }).click()]);
}

export async function fillDate(page, prefix, [day, month, year]) {
  await page.fill(`#${prefix}-day`, day);
  await page.fill(`#${prefix}-month`, month);
  await page.fill(`#${prefix}-year`, year);
}

export async function heading(page) {
  return (await page.locator('h1').first().innerText()).trim();
}


/** Runs `journeys` (name → async (browser) => …) in one browser. */
export async function run(journeys) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  let failed = 0;
  try {
    for (const [name, journey] of Object.entries(journeys)) {
      if (ONLY && !name.includes(ONLY)) continue;
      const started = Date.now();
      try {
        await journey(browser);
        console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (err) {
        failed += 1;
        console.log(`FAIL ${name}\n${err.stack ?? err}`);
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`axe-core ${AXE_TAGS.join(',')}: ${axeChecks} checks on ${audited.size} pages, 0 violations allowed`);
  process.exit(failed ? 1 : 0);
}
