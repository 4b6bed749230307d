// Settling and correcting the person index in a real browser, against a
// running `casework up` that `tests/browser.rs` prepared: a local
// caseworker, and two applications whose applicants the index could not
// settle on its own (FIRST: Amélie Claire Dubois; SECOND: "Amelie Dubois",
// a day of birth one off, raised as a possible match of FIRST's person).
//
// The caseworker links them from the queue, finds the link was wrong and
// splits the second application's record off to a new person, then merges
// the two again from a person page, and the old id still leads to the
// person who remains. Every page, error states included, is checked with
// axe-core.

import assert from 'node:assert/strict';
import { BASE, axe, heading, run, shot } from './harness.mjs';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

async function follow(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

/** The person id a case page's identity section links to. */
async function personOfCase(page, reference) {
  await page.goto(`${BASE}/desk/cases/${reference}`);
  const link = page.locator('a[href^="/desk/persons/"]').first();
  return (await link.getAttribute('href')).split('/').pop();
}

const journeys = {
  async 'a caseworker links a possible match, splits a wrong link, and merges a duplicate'(browser) {
    const [first, second] = [env('FIRST'), env('SECOND')];
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${BASE}/desk/reviews`);
    assert.equal(await heading(page), 'Sign in');
    await page.fill('#name', env('CASEWORKER_NAME'));
    await page.fill('#password', env('CASEWORKER_PASSWORD'));
    await follow(page, page.getByRole('button', { name: 'Sign in' }));

    // The queue: the possible match, with where it came from and its weight.
    assert.equal(await heading(page), 'Possible matches');
    const row = page.locator('tr', { hasText: `Application ${second}` });
    await row.waitFor();
    assert.match(await row.innerText(), /Amelie Dubois, born 1988-04-13[\s\S]*Amélie Claire Dubois, born 1988-04-12/);
    await axe(page, 'possible matches');
    await shot(page, 'desk-reviews');
    await follow(page, row.getByRole('link'));

    // Side by side, with every field's agreement and weight.
    assert.equal(await heading(page), 'Is this the same person?');
    const compared = await page.locator('main').innerText();
    assert.match(compared, /Given names\s+Amelie\s+Amélie Claire/);
    assert.match(compared, /Date of birth\s+1988-04-13\s+1988-04-12/);
    assert.match(compared, /Starting point[\s\S]*Total/);
    await axe(page, 'possible match');
    await shot(page, 'desk-review');
    // No decision and no reason: GOV.UK errors, nothing settled.
    await follow(page, page.getByRole('button', { name: 'Save decision' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Select whether this is the same person[\s\S]*Enter the reason/);
    assert.match(await page.title(), /^Error: /);
    await axe(page, 'possible match with errors');
    await page.getByLabel('The same person: link the records').check();
    await page.fill('#reason', 'The same passport photograph; the day of birth was mistyped.');
    await follow(page, page.getByRole('button', { name: 'Save decision' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /Records linked/);
    assert.equal(await page.locator('tr', { hasText: `Application ${second}` }).count(), 0, 'settled: off the queue');

    // Both applications now lead to one person, whose page shows both.
    const known = await personOfCase(page, first);
    assert.equal(await personOfCase(page, second), known, 'the second case now points at the known person');
    await page.goto(`${BASE}/desk/persons/${known}`);
    assert.equal(await heading(page), 'Amélie Claire Dubois');
    let text = await page.locator('main').innerText();
    assert.match(text, new RegExp(`Application ${first}`));
    assert.match(text, new RegExp(`Application ${second}`));
    assert.match(text, /Merged into this person:[\s\S]*The same passport photograph/);
    await axe(page, 'person page');
    await shot(page, 'desk-person');

    // The link was wrong: the second application's record is split off.
    await follow(page, page.getByRole('button', { name: 'Split into a new person' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Select the records that belong to someone else[\s\S]*Enter the reason/);
    await axe(page, 'person page with errors');
    await page.getByLabel(new RegExp(`Application ${second}`)).check();
    await page.fill('#split-reason', 'A different Amelie: her cousin, born a day later.');
    await follow(page, page.getByRole('button', { name: 'Split into a new person' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /Split: 1 record moved to this new person/);
    assert.equal(await heading(page), 'Amelie Dubois');
    const split = new URL(page.url()).pathname.split('/').pop();
    assert.notEqual(split, known);
    assert.match(await page.locator('main').innerText(), /Split off from/);
    await axe(page, 'new person after a split');
    assert.equal(await personOfCase(page, second), split, "the second case's person corrected");
    assert.equal(await personOfCase(page, first), known, 'the first case keeps its person');

    // Found to be one person after all: merged from the known person's page.
    await page.goto(`${BASE}/desk/persons/${known}`);
    await page.fill('#merge-person', 'not-an-id');
    await page.fill('#merge-reason', 'A second passport shows it.');
    await follow(page, page.getByRole('button', { name: 'Merge into this person' }));
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter a person id like/);
    assert.equal(await page.inputValue('#merge-reason'), 'A second passport shows it.', 'what was typed is kept');
    await axe(page, 'merge with an error');
    await page.fill('#merge-person', split);
    await follow(page, page.getByRole('button', { name: 'Merge into this person' }));
    assert.match(await page.locator('.govuk-notification-banner').innerText(), /Merged/);
    // The merged person's id still resolves, to the person who remains.
    await page.goto(`${BASE}/desk/persons/${split}`);
    assert.equal(await heading(page), 'Amélie Claire Dubois');
    text = await page.locator('main').innerText();
    assert.match(text, new RegExp(`Person ${split} was merged into this person`));
    assert.match(text, /Records split off to[\s\S]*Merged into this person:/);
    await axe(page, 'person page reached by a merged id');
    await shot(page, 'desk-person-merged');
    await context.close();
  },
};

await run(journeys);
