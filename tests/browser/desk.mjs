// The caseworker's and officer's desk in a real browser, against a running
// `casework up` that `tests/browser.rs` prepared: local accounts made with
// `casework user add`, screening records imported, and three cases waiting
// (REFERRED: a warnings-index match; LOST: refused with an enforcement alert;
// HELD: a check nobody answered, so stuck). With OIDC_ISSUER set, the
// platform signs staff in at that identity provider instead (the test's
// own, `oidc-provider.mjs`), and only the `oidc` journey runs.
//
// Every page visited, error states included, is checked with axe-core.

import assert from 'node:assert/strict';
import { BASE, axe, heading, run, shot } from './harness.mjs';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

/** Clicks and waits for the page it leads to. */
async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

/** Signs in with a local account from the page the browser is on. */
async function signIn(page, name, password) {
  assert.equal(await heading(page), 'Sign in');
  await page.fill('#name', name);
  await page.fill('#password', password);
  await follow(page, page.getByRole('button', { name: 'Sign in' }));
}

/** A new browser, signed in as a local account, on `path`. */
async function signedIn(browser, who, path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${BASE}${path}`);
  await signIn(page, env(`${who}_NAME`), env(`${who}_PASSWORD`));
  assert.equal(new URL(page.url()).pathname, path.split('?')[0], 'back where they were going');
  return { context, page };
}

/** Reloads the page until `test` holds (the platform works asynchronously). */
async function until(page, what, test, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await test()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not seen in ${seconds} s on ${page.url()}`);
    await new Promise((r) => setTimeout(r, 500));
    await page.reload();
  }
}

const local = {
  async 'a caseworker signs in, finds the referral in the queue, and decides it'(browser) {
    const referred = env('REFERRED');
    const context = await browser.newContext();
    const page = await context.newPage();
    // Signed out: sent to sign in, then back.
    const response = await page.goto(`${BASE}/desk`);
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    assert.equal(response.status(), 200);
    await axe(page, 'sign in');
    await shot(page, 'desk-sign-in');
    // Nothing typed, then a wrong password: GOV.UK errors, nothing kept of the password.
    await follow(page, page.getByRole('button', { name: 'Sign in' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter your user name[\s\S]*Enter your password/);
    await axe(page, 'sign in with errors');
    await page.fill('#name', env('CASEWORKER_NAME'));
    await page.fill('#password', 'not the password');
    await follow(page, page.getByRole('button', { name: 'Sign in' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter a correct user name and password/);
    assert.equal(await page.inputValue('#password'), '', 'a password is never sent back');
    await page.fill('#password', env('CASEWORKER_PASSWORD'));
    await follow(page, page.getByRole('button', { name: 'Sign in' }));
    assert.equal(new URL(page.url()).pathname, '/desk');

    assert.equal(await heading(page), 'Work queue');
    const row = page.locator('tr', { hasText: referred });
    await row.waitFor();
    assert.match(await row.innerText(), /Visit visa[\s\S]*Referred/);
    await axe(page, 'work queue');
    await shot(page, 'desk-queue');
    // Filtered to stuck cases only, the referral is not listed.
    await page.goto(`${BASE}/desk?status=stuck`);
    assert.equal(await page.locator('tr', { hasText: referred }).count(), 0);
    await page.goto(`${BASE}/desk?status=referred`);
    await follow(page, page.getByRole('link', { name: referred }));

    assert.equal(await heading(page), `Case ${referred}`);
    const text = await page.locator('main').innerText();
    assert.match(text, /Overstayed a previous visa by 14 months/, 'the warning finding');
    assert.match(text, /adverse-warning/, 'the rule that referred it');
    assert.match(text, /Petrov/, "the application's answers");
    await axe(page, 'case page');
    await shot(page, 'desk-case');

    // Refuse without a reason: refused, on the same page, the choice kept.
    await page.getByLabel('Refuse').check();
    await follow(page, page.getByRole('button', { name: 'Record decision' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter the reason for the decision/);
    assert.match(await page.title(), /^Error: /);
    assert.ok(await page.getByLabel('Refuse').isChecked(), 'the choice is kept');
    await axe(page, 'case page with an error');
    await shot(page, 'desk-decision-error');

    await page.getByLabel('Grant').check();
    await page.fill('#reason', 'The warning is about an overstay in 2009; the applicant has travelled lawfully since.');
    await follow(page, page.getByRole('button', { name: 'Record decision' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /Application granted/);
    await axe(page, 'case page after a decision');
    await until(page, `${referred} closed`, async () => /Closed/.test(await page.locator('main .govuk-tag').first().innerText()));
    assert.match(await page.locator('main').innerText(), /granted/);
    await context.close();
  },

  async 'a caseworker’s refusal of a passport waits for a senior caseworker, who approves it'(browser) {
    const reference = env('PASSPORT_REFERRED');
    const first = await signedIn(browser, 'CASEWORKER', `/desk/cases/${reference}`);
    let page = first.page;
    assert.match(await page.locator('main').innerText(), /will need a senior caseworker’s approval/);
    await page.getByLabel('Refuse').check();
    await page.fill('#reason', 'The passport presented belongs to someone else.');
    await follow(page, page.getByRole('button', { name: 'Record decision' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /A senior caseworker must approve it/);
    assert.equal(await page.getByRole('heading', { name: 'Decision awaiting approval' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Record approval' }).count(), 0, 'a caseworker cannot approve');
    await axe(page, 'case page awaiting approval');
    await first.context.close();

    const second = await signedIn(browser, 'SENIOR', '/desk');
    page = second.page;
    // Listed first under "Decisions awaiting approval" (and still among the referred cases).
    const row = page.locator('tr', { hasText: reference }).first();
    await row.waitFor();
    assert.match(await row.innerText(), /Refuse[\s\S]*ada/);
    await axe(page, 'work queue with decisions awaiting approval');
    await shot(page, 'desk-queue-awaiting-approval');
    await follow(page, page.getByRole('link', { name: reference }).first());
    // Nothing chosen: a GOV.UK error, nothing changed.
    await follow(page, page.getByRole('button', { name: 'Record approval' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Select whether you approve the decision/);
    await axe(page, 'approval with an error');
    await shot(page, 'desk-approval');
    await page.getByLabel('Approve it').check();
    await follow(page, page.getByRole('button', { name: 'Record approval' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /Decision approved/);
    await until(page, `${reference} closed`, async () => /Closed/.test(await page.locator('main .govuk-tag').first().innerText()));
    assert.match(await page.locator('main').innerText(), /refused/);
    await second.context.close();
  },

  async 'a caseworker re-requests a stuck check from the case page'(browser) {
    const held = env('HELD');
    const { context, page } = await signedIn(browser, 'CASEWORKER', '/desk?status=stuck');
    const row = page.locator('tr', { hasText: held });
    await row.waitFor();
    assert.match(await row.innerText(), /Stuck/);
    await follow(page, page.getByRole('link', { name: held }));
    await axe(page, 'stuck case page');
    await follow(page, page.getByRole('button', { name: 'Request the traveller check again' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /The traveller check has been requested again/);
    await axe(page, 'stuck case page after a re-request');
    await context.close();
  },

  async 'a caseworker searches by surname and is told of a date that is not one'(browser) {
    const { context, page } = await signedIn(browser, 'CASEWORKER', '/desk/search');
    await axe(page, 'search');
    await page.fill('#surname', 'petrov');
    await follow(page, page.getByRole('button', { name: 'Search' }));
    assert.ok(await page.getByRole('link', { name: env('REFERRED') }).isVisible());
    await axe(page, 'search results');
    await page.fill('#date_of_birth-day', '31');
    await page.fill('#date_of_birth-month', '2');
    await page.fill('#date_of_birth-year', '1975');
    await follow(page, page.getByRole('button', { name: 'Search' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Date of birth must be a real date/);
    await axe(page, 'search with an error');
    // A reference with a mistyped character fails its check character.
    const reference = env('REFERRED');
    const last = reference.at(-1);
    const mistyped = reference.slice(0, -1) + (last === 'X' ? 'Y' : 'X');
    for (const part of ['day', 'month', 'year']) await page.fill(`#date_of_birth-${part}`, '');
    await page.fill('#surname', '');
    await page.fill('#reference', mistyped);
    await follow(page, page.getByRole('button', { name: 'Search' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter a reference in the correct format/);
    await context.close();
  },

  async 'a caseworker may not see the officers’ pages'(browser) {
    const { context, page } = await signedIn(browser, 'CASEWORKER', '/desk');
    const response = await page.goto(`${BASE}/desk/alerts`);
    assert.equal(response.status(), 403);
    assert.equal(await heading(page), 'You do not have permission to see this page');
    await axe(page, 'forbidden');
    await context.close();
  },

  async 'an officer acknowledges an alert'(browser) {
    const lost = env('LOST');
    const { context, page } = await signedIn(browser, 'OFFICER', '/desk/alerts');
    const row = page.locator('tr', { hasText: lost });
    await until(page, `an alert for ${lost}`, async () => (await row.count()) > 0);
    await axe(page, 'alerts');
    await shot(page, 'desk-alerts');
    await follow(page, row.getByRole('button', { name: /Acknowledge/ }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), new RegExp(`Alert for ${lost} acknowledged`));
    assert.equal(await page.locator('tbody tr', { hasText: lost }).filter({ has: page.getByRole('button') }).count(), 0);
    await axe(page, 'alerts after acknowledging');
    // Not a caseworker: the work queue is not theirs.
    const response = await page.goto(`${BASE}/desk`);
    assert.equal(response.status(), 403);
    await context.close();
  },

  async 'an auditor finds who read the referred case, and why'(browser) {
    const referred = env('REFERRED');
    const { context, page } = await signedIn(browser, 'AUDITOR', '/desk/audit');
    await axe(page, 'audit trail');
    await page.fill('#subject', referred);
    await follow(page, page.getByRole('button', { name: 'Search the trail' }));
    const caseworker = env('CASEWORKER_NAME');
    const read = page.locator('tbody tr', { hasText: caseworker }).filter({ hasText: 'case-review' });
    assert.ok((await read.count()) > 0, `${caseworker}'s reads of ${referred} with their purpose`);
    const trail = await page.locator('tbody').innerText();
    assert.ok(['register', 'identify', 'investigate', 'decide'].every((svc) => trail.includes(svc)), `from every service the case page read: ${trail}`);
    await axe(page, 'audit trail results');
    await shot(page, 'desk-audit');
    // A date that is not one is an error, and nothing is searched.
    await page.fill('#from', '7/12/2026');
    await follow(page, page.getByRole('button', { name: 'Search the trail' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter a date like/);
    await axe(page, 'audit trail with an error');
    await context.close();
  },

  async 'signing out ends the session'(browser) {
    const { context, page } = await signedIn(browser, 'CASEWORKER', '/desk');
    await follow(page, page.getByRole('button', { name: 'Sign out' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /You have signed out/);
    await axe(page, 'signed out');
    await page.goto(`${BASE}/desk`);
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    await context.close();
  },
};

const oidc = {
  async 'a caseworker signs in through the identity provider (OIDC, PKCE)'(browser) {
    const issuer = env('OIDC_ISSUER');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${BASE}/desk`);
    // The provider's own page: who signs in.
    assert.ok(page.url().startsWith(`${issuer}/authorize?`), page.url());
    const asked = new URL(page.url()).searchParams;
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.ok(asked.get('state') && asked.get('nonce') && asked.get('code_challenge'));
    await page.fill('#user', env('OIDC_USER'));
    await follow(page, page.getByRole('button', { name: 'Sign in' }));
    assert.equal(new URL(page.url()).pathname, '/desk');
    assert.equal(await heading(page), 'Work queue');
    assert.match(await page.locator('form[action="/sign-out"]').innerText(), /Grace Hopper/);
    await axe(page, 'work queue (signed in through OIDC)');
    // The callback cannot be replayed: its state was used once.
    const replay = await page.goto(`${BASE}/sign-in/callback?code=stolen&state=${asked.get('state')}`);
    assert.equal(replay.status(), 403);
    await context.close();
  },
};

await run(process.env.OIDC_ISSUER ? oidc : local);
