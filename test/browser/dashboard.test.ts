/**
 * The supervisor dashboard in real Chromium against a real `callbackd serve` in simulator mode,
 * seeded with callbacks in every state. Screenshots of the overview and the detail panel go to
 * test-results/ on every run.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../cli/support.js';
import {
  ensureWebBuilt,
  launchChromium,
  RESULTS_DIR,
  type Served,
  startServe,
  stopServe,
  until,
} from './support.js';

const SUPPORT = 'a1b2c3d4-e5f6-7890-abcd-ef1234567890';
/** Accepted by callbackd's policy but not provisioned in the simulated org: the carrier rejects it. */
const UNPROVISIONED_DID = '+18005550199';
const NO_ANSWER = '+14155550101';

// biome-ignore lint/suspicious/noExplicitAny: the test reads API answers loosely and asserts on them
type AnyJson = any;

let dir: string;
let served: Served;
let browser: Browser;
let page: Page;
let scheduled: number;

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: AnyJson }> {
  const res = await fetch(served.url + path, {
    method,
    headers: {
      authorization: `Bearer ${served.demoKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function sim(path: string, body: unknown): Promise<void> {
  const res = await fetch(served.simUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
}

function request(id: string, externalId: string, number: string, at: number, from = '+18005551234') {
  return {
    callbackId: id,
    callbackNumber: number,
    callbackFrom: from,
    callbackTo: from,
    scheduledTime: new Date(at).toISOString(),
    routingData: { queueId: SUPPORT, priority: 5, wrapUpCode: 'PROGRAMMATIC_CALLBACK' },
    mediaType: 'voice',
    customerData: { externalId, firstName: 'Test', lastName: externalId },
  };
}

async function statusOf(id: string): Promise<string> {
  return (await call('GET', `/api/v2/routing/callbacks/${id}`)).body.status;
}

const reach = (id: string, status: string) =>
  until(`${id} to be ${status}`, async () => ((await statusOf(id)) === status ? true : undefined), 30_000);

beforeAll(async () => {
  ensureWebBuilt();
  dir = mkdtempSync(join(tmpdir(), 'callbackd-browser-'));
  const config: AnyJson = parse(readFileSync(join(ROOT, 'config/default.yaml'), 'utf8'));
  config.queues[SUPPORT].dids.push({ number: UNPROVISIONED_DID, sameFromTo: false });
  config.queues[SUPPORT].slots = { minutes: 15, capacity: 3 };
  config.customers.records = [
    { externalId: 'CRM-998271', firstName: 'Marcus', lastName: 'Vance', numbers: ['+14155552671'] },
    { externalId: 'CRM-NOANSWER', firstName: 'Nora', lastName: 'Answer', numbers: [NO_ANSWER] },
    ...['A', 'B', 'C', 'D', 'E', 'F', 'G'].map((s) => ({
      externalId: `CRM-${s}`,
      firstName: 'Test',
      lastName: s,
      numbers: [`+1415555020${'ABCDEFG'.indexOf(s)}`],
    })),
  ];
  config.tracking.pollIntervalMs = 1000;
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  served = await startServe(join(dir, 'serve'), {
    CALLBACKD_CONFIG: configFile,
    CALLBACKD_DB: join(dir, 'ledger.db'),
    CALLBACKD_LOG_LEVEL: 'warn',
  });

  // Tomorrow 16:00 UTC (11:00 in New York) on the simulator's clock: inside every window.
  const clockNow = (await (await fetch(`${served.simUrl}/sim/clock`)).json()) as { now: string };
  const now = Date.parse(clockNow.now);
  scheduled = new Date(now + 86_400_000).setUTCHours(16, 0, 0, 0);
  const seeds = [
    request('cb-completed', 'CRM-998271', '+14155552671', scheduled),
    request('cb-expired', 'CRM-NOANSWER', NO_ANSWER, scheduled),
    request('cb-rejected', 'CRM-A', '+14155550200', scheduled, UNPROVISIONED_DID),
    request('cb-cancelled', 'CRM-B', '+14155550201', scheduled + 3_600_000),
    request('cb-pending', 'CRM-C', '+14155550202', scheduled + 2 * 3_600_000),
    request('cb-to-cancel', 'CRM-D', '+14155550203', scheduled + 3 * 3_600_000),
  ];
  for (const body of seeds) expect((await call('POST', '/api/v2/routing/callbacks', body)).status).toBe(201);
  for (const s of seeds) await reach(s.callbackId, 'pending');
  expect((await call('DELETE', '/api/v2/routing/callbacks/cb-cancelled')).status).toBe(200);
  // Ten minutes past the call: the simulator plays the answered, unanswered and rejected calls out.
  await sim('/sim/clock', { set: new Date(scheduled + 10 * 60_000).toISOString() });
  await reach('cb-completed', 'completed');
  await reach('cb-expired', 'expired');
  await reach('cb-rejected', 'rejected');
  // Creates now fail on the platform, so the next callback stays accepted (the submitter retries).
  await sim('/sim/faults', { endpoint: 'createCallback', kind: 'error', status: 503 });
  const accepted = request('cb-accepted', 'CRM-E', '+14155550204', scheduled + 4 * 3_600_000);
  expect((await call('POST', '/api/v2/routing/callbacks', accepted)).status).toBe(201);

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  mkdirSync(RESULTS_DIR, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stopServe(served);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cell = (queue: string, caption: string, status: string) =>
  page
    .locator(`section[data-queue="${queue}"] table.counts`, { hasText: caption })
    .locator(`td[data-status="${status}"]`);

describe('the supervisor dashboard in Chromium', () => {
  it('signs in with the URL-fragment demo key, drops the fragment, and shows the live state', async () => {
    await page.goto(`${served.url}/#key=${served.demoKey}`);
    await page.getByRole('heading', { name: 'Support' }).waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');
    // The key went into an HttpOnly cookie: page script cannot read it.
    // biome-ignore lint/suspicious/noExplicitAny: runs in the page, where document exists
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe('');
  });

  it('shows the overview counts the API reports for every state', async () => {
    const overview = (await call('GET', '/api/v2/routing/overview')).body;
    const support = overview.queues.find((q: AnyJson) => q.id === SUPPORT);
    expect(support.today).toMatchObject({
      accepted: 1,
      pending: 2,
      completed: 1,
      expired: 1,
      rejected: 1,
      cancelled: 1,
    });
    for (const [status, count] of Object.entries(support.today)) {
      await expect.poll(() => cell(SUPPORT, 'Scheduled today', status).textContent()).toBe(String(count));
    }
    // The slot timeline is drawn against the queue's slot capacity.
    expect(support.slots[0].capacity).toBe(3);
    await expect
      .poll(() => page.locator(`section[data-queue="${SUPPORT}"] figcaption`).first().textContent())
      .toContain('against slot capacity');
    for (const status of ['accepted', 'pending']) {
      await expect
        .poll(() => cell(SUPPORT, 'Open now', status).textContent())
        .toBe(String(support.open[status]));
    }
    await page.screenshot({ path: join(RESULTS_DIR, 'overview.png'), fullPage: true });
  });

  it('filters the callbacks list by status', async () => {
    await page.getByRole('button', { name: 'Callbacks' }).click();
    await page.getByLabel('Status').selectOption('expired');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect.poll(() => page.locator('#cb-rows tr').count()).toBe(1);
    expect(await page.locator('#cb-rows tr').first().textContent()).toContain('cb-expired');
    // The number is masked: only the last four digits show.
    expect(await page.locator('#cb-rows tr').first().textContent()).toContain('*******0101');
    expect(await page.content()).not.toContain(NO_ANSWER);
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.locator('#cb-rows tr').count()).toBe(7);
  });

  it("opens a callback's history as a timeline", async () => {
    await page.getByRole('button', { name: 'cb-completed' }).click();
    const timeline = page.locator('#timeline li');
    await expect.poll(() => timeline.count()).toBeGreaterThanOrEqual(3);
    const api = (await call('GET', '/api/v2/routing/callbacks/cb-completed')).body;
    const shown = await timeline.locator('strong').allTextContents();
    expect(shown).toEqual(api.history.map((h: AnyJson) => h.status));
    expect(await page.locator('#detail-fields').textContent()).toContain(api.conversationId);
    await page.locator('#detail').screenshot({ path: join(RESULTS_DIR, 'detail.png') });
  });

  it('cancels a callback from the detail panel and the list changes live', async () => {
    await page.getByRole('button', { name: 'cb-to-cancel' }).click();
    await page.getByRole('button', { name: 'Cancel callback' }).click();
    const row = page.locator('#cb-rows tr[data-callback-id="cb-to-cancel"]');
    await expect.poll(() => row.locator('.status').textContent(), { timeout: 15_000 }).toBe('cancelled');
    expect(await statusOf('cb-to-cancel')).toBe('cancelled');
  });

  it("refuses a reschedule into the past with the API's own message", async () => {
    const bad = '2020-01-01T10:00:00Z';
    const expected = (await call('PATCH', '/api/v2/routing/callbacks/cb-pending', { scheduledTime: bad }))
      .body;
    expect(expected.errors[0].code).toBe('SCHEDULED_TIME_IN_PAST');
    await page.getByRole('button', { name: 'cb-pending' }).click();
    await page.getByLabel('New scheduled time').fill(bad);
    await page.getByRole('button', { name: 'Reschedule' }).click();
    // The same violations, worded by the API (its messages quote the server time, which moved on).
    const instants = (text: string | null) => (text ?? '').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<instant>');
    const wanted = instants(expected.errors.map((e: AnyJson) => e.message).join(' · '));
    await expect.poll(async () => instants(await page.locator('#action-error').textContent())).toBe(wanted);
    expect(await statusOf('cb-pending')).toBe('pending');
  });

  it('stays readable at phone width: nothing wider than the screen but scrolling tables', async () => {
    // The same browser context, so the same session cookie.
    const phone = await page.context().newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    try {
      await phone.goto(served.url);
      await phone.getByRole('heading', { name: 'Support' }).waitFor();
      const overflow = await phone.evaluate(() => {
        // biome-ignore lint/suspicious/noExplicitAny: runs in the page
        const d = (globalThis as any).document.documentElement;
        return d.scrollWidth - d.clientWidth;
      });
      await phone.screenshot({ path: join(RESULTS_DIR, 'overview-phone.png'), fullPage: true });
      expect(overflow).toBeLessThanOrEqual(0);
    } finally {
      await phone.close();
    }
  });

  it('is usable from the keyboard: tab to the callbacks tab and open it with Enter', async () => {
    await page.getByRole('button', { name: 'Overview' }).focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('#tab-callbacks').waitFor({ state: 'visible' });
    expect(await page.getByRole('button', { name: 'Callbacks' }).getAttribute('aria-current')).toBe('page');
  });

  it('shows a new callback without a reload', async () => {
    const body = request('cb-new-live', 'CRM-F', '+14155550205', scheduled + 5 * 3_600_000);
    expect((await call('POST', '/api/v2/routing/callbacks', body)).status).toBe(201);
    await page.getByRole('button', { name: 'cb-new-live' }).waitFor({ timeout: 15_000 });
    await page.getByRole('button', { name: 'Overview' }).click();
    await expect.poll(() => cell(SUPPORT, 'Scheduled today', 'accepted').textContent()).toBe('2');
  });
});
