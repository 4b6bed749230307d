// The public web front end in a real browser (Debian's chromium, driven by
// playwright-core; no browser is ever downloaded), against a running
// `casework up`. Started by `tests/browser.rs`, which starts the platform and
// passes its address and a caseworker token; it can also be run by hand:
//
//   BASE_URL=http://127.0.0.1:8080 CASEWORKER_TOKEN=$(casework token --role caseworker) \
//     node tests/browser/journeys.mjs
//
// Every page a journey visits, error states included, is checked with
// axe-core against WCAG 2.0, 2.1 and 2.2 A and AA: any violation fails.
// Exits non-zero on the first failed journey, naming it.


import assert from 'node:assert/strict';
import { BASE, axe, fillDate, heading, proceed, run, shot } from './harness.mjs';

const TOKEN = process.env.CASEWORKER_TOKEN;

// Each run's applicants have surnames of their own, so a run against a
// platform that already holds cases counts only its own.
const RUN = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const surname = (name) => `${name}-${RUN}`;
let grantedReference;

/** The Register API, as a caseworker, for what the browser cannot see. */
async function api(path) {
  const response = await fetch(`${BASE}/api/register/v1/${path}`, {
    // A search must say why (it goes on the audit trail).
    headers: { authorization: `Bearer ${TOKEN}`, purpose: 'test' },
  });
  assert.equal(response.status, 200, `GET ${path}`);
  return response.json();
}

async function waitForClosed(reference) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const c = await api(`cases/${reference}`);
    if (c.status === 'closed') return c;
    if (Date.now() > deadline) throw new Error(`${reference} not closed: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A visitor's answers; `surname` keeps each journey's case apart. */
function visitor(surname) {
  return {
    given: 'Marta', surname, dob: ['3', '7', '1990'], sex: 'Female', nationality: 'POL',
    passport: 'AB1234567', state: 'POL', issued: ['1', '3', '2022'], expires: ['28', '2', '2032'],
    purpose: 'Tourism or holiday', arrive: ['10', '1', '2027'], leave: ['24', '1', '2027'],
    email: `${surname.toLowerCase()}@example.org`,
  };
}

/**
 * The visit visa from the service's home page to its confirmation, meeting
 * and correcting one error on the way, using a change link on the check
 * page. Returns the reference shown.
 */
async function applyForVisitVisa(page, who, { screenshots = false, audit = true } = {}) {
  const check = async (label) => { if (audit) await axe(page, label); };
  await page.goto(`${BASE}/`);
  await check('home');
  if (screenshots) await shot(page, 'home');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('link', { name: 'Apply for a visit visa' }).click()]);
  assert.equal(await heading(page), 'Apply for a visit visa');
  await check('start page');
  if (screenshots) await shot(page, 'start');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Start now' }).click()]);

  assert.equal(await heading(page), 'What is your name?');
  await check('question page');
  // Nothing entered: both messages, in the summary and inline, and nothing lost.
  await page.fill('#applicant-given_names', who.given);
  await proceed(page);
  const summary = page.locator('.govuk-error-summary');
  assert.match(await summary.innerText(), /Enter your surname/);
  assert.match(await page.title(), /^Error: /);
  assert.equal(await page.inputValue('#applicant-given_names'), who.given, 'answer kept');
  await check('question page with an error');
  if (screenshots) await shot(page, 'error');
  await page.fill('#applicant-surname', who.surname);
  await proceed(page);

  assert.equal(await heading(page), 'What is your date of birth?');
  await answerFromDateOfBirth(page, who);

  assert.equal(await heading(page), 'Check your answers before sending your application');
  await check('check your answers');
  if (screenshots) await shot(page, 'check-your-answers');
  const answers = await page.locator('.govuk-summary-list').innerText();
  for (const expected of [who.surname, '3 July 1990', 'Poland', who.passport, who.email]) {
    assert.ok(answers.includes(expected), `check page shows ${expected}:\n${answers}`);
  }
  // Change the reason for the visit: back to that page, then straight back here.
  await Promise.all([
    page.waitForLoadState('load'),
    page.getByRole('link', { name: /Change.*reason for your visit/i }).click(),
  ]);
  await page.getByLabel('Visiting family or friends').check();
  await proceed(page);
  assert.equal(await heading(page), 'Check your answers before sending your application');
  assert.ok((await page.locator('.govuk-summary-list').innerText()).includes('Visiting family or friends'));
  await proceed(page, 'Accept and send');

  const panel = page.locator('.govuk-panel');
  assert.match(await panel.innerText(), /Application sent/);
  const reference = (await panel.locator('strong').innerText()).trim();
  assert.match(reference, /^VV-/);
  await check('confirmation');
  if (screenshots) await shot(page, 'confirmation');
  return reference;
}

/** The status page: the reference and date of birth give the status, and nothing else. */
async function checkStatus(page, reference, dob) {
  await page.goto(`${BASE}/status`);
  await page.fill('#reference', reference);
  await fillDate(page, 'date_of_birth', dob);
  await proceed(page, 'Check status');
}

const journeys = {
  async 'a visit visa through every page, one error corrected, granted, and the status page says so'(browser) {
    const page = await browser.newPage();
    const who = visitor(surname('Kowalska'));
    const reference = await applyForVisitVisa(page, who, { screenshots: true });
    const closed = await waitForClosed(reference);
    assert.equal(closed.outcome, 'granted', JSON.stringify(closed));
    grantedReference = reference;
    await page.goto(`${BASE}/status`);
    await axe(page, 'status form');
    await checkStatus(page, reference, who.dob);
    assert.match(await heading(page), /Your visit visa application/);
    const text = await page.locator('main').innerText();
    assert.match(text, /Approved/, text);
    assert.ok(!text.includes(who.email) && !text.includes(who.passport), 'the status page shows nothing personal');
    await axe(page, 'status result');
    await shot(page, 'status');
  },

  async 'the same journey with JavaScript disabled'(browser) {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const reference = await applyForVisitVisa(page, visitor(surname('Nowak')), { audit: false });
    const closed = await waitForClosed(reference);
    assert.equal(closed.outcome, 'granted');
    await context.close();
  },

  async 'the fourth product, defined only as data, through its form'(browser) {
    const closed = await applyThroughForm(browser, /transit visa/i, 'TV-', {
      text: {
        'traveller-given_names': 'Ana', 'traveller-surname': surname('Transito'),
        'contact-email': 'ana@example.org', 'traveller-passport-number': 'TR1234567',
        'onward_flight-number': 'BA123', 'onward_flight-departs': '2027-01-15T09:30:00Z',
      },
      dates: {
        'traveller-date_of_birth': ['12', '4', '1988'],
        'traveller-passport-issue_date': ['1', '6', '2021'],
        'traveller-passport-expiry_date': ['31', '5', '2031'],
      },
      selects: { 'traveller-nationality': 'BRA', 'traveller-passport-issuing_state': 'BRA' },
    });
    assert.ok(['granted', 'refused'].includes(closed.outcome), JSON.stringify(closed));
  },

  async 'a passport renewal and a basic DBS check through their forms, granted'(browser) {
    const person = {
      'applicant-given_names': 'Olivia', 'applicant-surname': surname('Hughes'),
      'applicant-place_of_birth': 'Cardiff', 'contact-email': 'olivia@example.org',
      'address-line1': '1 High Street', 'address-town': 'Cardiff', 'address-postcode': 'cf10 1aa',
    };
    const dates = (root) => ({
      'applicant-date_of_birth': ['14', '2', '1985'],
      [`${root}-issue_date`]: ['1', '3', '2018'],
      [`${root}-expiry_date`]: ['1', '3', '2028'],
    });
    const renewal = await applyThroughForm(browser, /renew your passport/i, 'PR-', {
      text: { ...person, 'current_passport-number': '123456789' },
      dates: dates('current_passport'),
      selects: { 'current_passport-issuing_state': 'GBR' },
      radios: { 'applicant-sex': 'Female' },
    });
    assert.equal(renewal.outcome, 'granted', JSON.stringify(renewal));
    const dbs = await applyThroughForm(browser, /basic DBS check/i, 'DBS-', {
      text: { ...person, 'applicant-surname': surname('Hughes-Dbs'), 'identity_document-number': '987654321', purpose: 'A new job' },
      dates: dates('identity_document'),
      selects: { 'applicant-nationality': 'GBR', 'identity_document-issuing_state': 'GBR' },
      radios: { 'applicant-sex': 'Female' },
    });
    assert.equal(dbs.outcome, 'granted', JSON.stringify(dbs));
  },

  async 'a double-clicked submit makes one case'(browser) {
    // Without JavaScript the Design System's double-click guard is off: the
    // server's Idempotency-Key is what stands between two clicks and two cases.
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const who = visitor(surname('Doubleclick'));
    await applyForVisitVisaUpToCheck(page, who);
    const key = await page.inputValue('input[name=submission]');
    const button = page.getByRole('button', { name: 'Accept and send' });
    await button.dblclick();
    await page.waitForSelector('.govuk-panel');
    // The same page sent again (a reload of the POST): the confirmation again, no new case.
    const again = await context.request.post(page.url().replace('/confirmation', '/check'), {
      form: { csrf_token: await csrfOf(context), submission: key }, maxRedirects: 0,
    });
    assert.equal(again.status(), 303, `resend: ${again.status()}`);
    assert.match(again.headers().location, /\/confirmation$/);
    const reference = (await page.locator('.govuk-panel strong').innerText()).trim();
    await waitForClosed(reference);
    const found = await api(`cases?surname=${encodeURIComponent(who.surname)}&date_of_birth=1990-07-03`);
    assert.equal(found.total, 1, `one case, not ${found.total}`);
    await context.close();
  },

  // Uses the case the first journey made (run it too when choosing with JOURNEY=).
  async 'a wrong status pair reveals nothing'(browser) {
    const page = await browser.newPage();
    const reference = grantedReference;
    assert.ok(reference, 'the first journey made a case');
    await checkStatus(page, reference, ['4', '7', '1990']);
    const wrongBirthday = await page.locator('main').innerText();
    assert.match(wrongBirthday, /could not find/i);
    assert.ok(!wrongBirthday.includes('Approved') && !/visit visa/i.test(wrongBirthday), wrongBirthday);
    await axe(page, 'status not found');
    await checkStatus(page, 'VV-2G5E-DSQB-F', ['3', '7', '1990']);
    const noSuchCase = await page.locator('main').innerText();
    assert.equal(noSuchCase.replace('VV-2G5E-DSQB-F', reference), wrongBirthday, 'the two refusals are the same page');
    await checkStatus(page, '', ['', '', '']);
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter your reference number/);
    await axe(page, 'status form with errors');
  },

  async 'a POST without its CSRF token is refused and changes nothing'(browser) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${BASE}/apply/visit-visa/name`);
    const without = await context.request.post(`${BASE}/apply/visit-visa/name`, {
      form: { 'applicant-given_names': 'Eve', 'applicant-surname': 'Forger' }, maxRedirects: 0,
    });
    assert.equal(without.status(), 403);
    assert.match(await without.text(), /start again/);
    const forged = await context.request.post(`${BASE}/apply/visit-visa/name`, {
      form: { csrf_token: 'not-the-token', 'applicant-given_names': 'Eve', 'applicant-surname': 'Forger' },
      maxRedirects: 0,
    });
    assert.equal(forged.status(), 403);
    await page.goto(`${BASE}/apply/visit-visa/name`);
    assert.equal(await page.inputValue('#applicant-given_names'), '', 'nothing was saved');
    await axe(page, 'question page after a refused post');
    await context.close();
  },
};

/**
 * A product from the home page's link to its confirmation, answering each
 * page from `answers` by field id (text, dates, selects, radios by label),
 * with axe on every page; the closed case.
 */
async function applyThroughForm(browser, link, prefix, answers) {
  const page = await browser.newPage();
  await page.goto(`${BASE}/`);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('link', { name: link }).click()]);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Start now' }).click()]);
  for (let step = 0; step < 25; step += 1) {
    const title = await heading(page);
    if (title.startsWith('Check your answers')) break;
    await axe(page, `${prefix} ${title}`);
    for (const [id, value] of Object.entries(answers.text ?? {})) {
      if (await page.locator(`input#${id}`).count()) await page.fill(`#${id}`, value);
    }
    for (const [id, value] of Object.entries(answers.dates ?? {})) {
      if (await page.locator(`#${id}-day`).count()) await fillDate(page, id, value);
    }
    for (const [id, value] of Object.entries(answers.selects ?? {})) {
      if (await page.locator(`select#${id}`).count()) await page.selectOption(`#${id}`, value);
    }
    for (const [name, label] of Object.entries(answers.radios ?? {})) {
      if (await page.locator(`input[name="${name}"]`).count()) await page.getByLabel(label, { exact: true }).check();
    }
    await proceed(page);
    const errors = page.locator('.govuk-error-summary');
    assert.equal(await errors.count(), 0, `${title}: ${(await errors.count()) ? await errors.innerText() : ''}`);
  }
  await proceed(page, 'Accept and send');
  const reference = (await page.locator('.govuk-panel strong').innerText()).trim();
  assert.ok(reference.startsWith(prefix), reference);
  await page.close();
  return waitForClosed(reference);
}

/** The visit visa journey up to its check page, without detours. */
async function applyForVisitVisaUpToCheck(page, who) {
  await page.goto(`${BASE}/apply/visit-visa/name`);
  await page.fill('#applicant-given_names', who.given);
  await page.fill('#applicant-surname', who.surname);
  await proceed(page);
  await answerFromDateOfBirth(page, who);
  assert.equal(await heading(page), 'Check your answers before sending your application');
}

/** The visit visa's pages from the date of birth to the contact page. */
async function answerFromDateOfBirth(page, who) {
  await fillDate(page, 'applicant-date_of_birth', who.dob);
  await proceed(page);
  await page.getByLabel(who.sex, { exact: true }).check();
  await proceed(page);
  await page.selectOption('#applicant-nationality', who.nationality);
  await proceed(page);
  await page.fill('#passport-number', who.passport);
  await page.selectOption('#passport-issuing_state', who.state);
  await proceed(page);
  await fillDate(page, 'passport-issue_date', who.issued);
  await fillDate(page, 'passport-expiry_date', who.expires);
  await proceed(page);
  await page.getByLabel(who.purpose).check();
  await proceed(page);
  await fillDate(page, 'travel-arrival', who.arrive);
  await fillDate(page, 'travel-departure', who.leave);
  await proceed(page);
  assert.equal(await heading(page), 'Where will you stay in the UK?');
  await proceed(page); // optional: left empty
  await page.fill('#contact-email', who.email);
  await proceed(page);
}

/** The session's CSRF token, from a page of the form. */
async function csrfOf(context) {
  const page = await context.newPage();
  await page.goto(`${BASE}/status`);
  const token = await page.inputValue('input[name=csrf_token]');
  await page.close();
  return token;
}

await run(journeys);
