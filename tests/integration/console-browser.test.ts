/// <reference lib="dom" />
// Code passed to page.evaluate runs in the browser.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, topicFor } from '@cityedge/contract';
import { eventually } from '@cityedge/test-support';
import { FakeGateway } from '../../device-registry/src/testing/fake-gateway.js';
import { buildConsole, launchChromium, newPage, recordRequests, screenshot, signIn, startConsoleStack, USER, type ConsoleStack } from '../support/console.js';

/**
 * The console in Debian's Chromium against a real registry (SQLite, embedded broker) serving
 * the built bundle, with fake gateways on real MQTT: sign-in, languages, the fleet at phone
 * width, enrolment from the QR page, a device edited with a validation error, a config pushed
 * and committed. Screenshots of the pages go to docs/screenshots (shown in the README).
 */
describe('the console in a real browser', { timeout: 120_000 }, () => {
  let stack: ConsoleStack;
  let browser: Browser;
  let gw1: FakeGateway;

  beforeAll(async () => {
    await buildConsole();
    stack = await startConsoleStack();
    browser = await launchChromium();
    await stack.api('POST', '/v1/sites', { id: 'dongha', name: 'Đông Hà', timeZone: 'Asia/Ho_Chi_Minh' });
    gw1 = await stack.onlineGateway('gw-hieu', { siteId: 'dongha', name: 'Trạm sông Hiếu', tags: ['flood'] });
    await stack.api('POST', '/v1/gateways', { id: 'gw-pump-2', siteId: 'dongha', name: 'Trạm bơm 2', tags: ['pump'] });
    await stack.api('PUT', '/v1/gateways/gw-hieu/lines/bus1', { type: 'tcp', host: '127.0.0.1', port: 5020 });
    await stack.api('POST', '/v1/gateways/gw-hieu/devices', { id: 'th-1', lineId: 'bus1', profile: 'sht20', unitId: 1, name: 'Nhiệt độ tủ điện' });
    const now = Date.now();
    await gw1.publish(
      topicFor(gw1.id, Channel.telemetry, gw1.identity.mqtt.topicPrefix),
      JSON.stringify({ v: 1, gw: gw1.id, seq: 1, readings: Array.from({ length: 30 }, (_, i) => [{ dev: 'th-1', pt: 'temperature', ts: now - (29 - i) * 60_000, v: 28 + Math.sin(i / 4) * 2, q: 'good', u: '°C' }, { dev: 'th-1', pt: 'humidity', ts: now - (29 - i) * 60_000, v: 70 + i / 3, q: 'good', u: '%RH' }]).flat() }),
    );
    await eventually(async () => ((await stack.api<{ readings: unknown[] }>('GET', '/v1/gateways/gw-hieu/readings?device=th-1')).body.readings.length >= 60 ? true : undefined), 60_000, 'readings stored');
    await eventually(async () => ((await stack.api<{ status: { state: string } }>('GET', '/v1/gateways/gw-hieu')).body.status.state === 'online' ? true : undefined), 60_000, 'gw-hieu online');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('signs in (a wrong password is refused on the page), in Vietnamese for a Vietnamese browser, talking only to the registry', async () => {
    const page = await newPage(browser, { language: 'vi-VN' });
    const requests = recordRequests(page);
    await page.goto(stack.url + '/', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#username');
    expect(await text(page, 'h1')).toBe('Đăng nhập');
    await screenshot(page, 'signin-vi');
    await page.type('#username', USER.username);
    await page.type('#password', 'not-the-password');
    await page.click('button[type=submit]');
    await page.waitForSelector('.signin .error');
    expect(await text(page, '.signin .error')).toBe('Sai tên đăng nhập hoặc mật khẩu.');
    await page.$eval('#password', (e) => ((e as HTMLInputElement).value = ''));
    await page.type('#password', USER.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-gateway="gw-hieu"]');
    expect(await text(page, '#fleet-title')).toBe('Thiết bị');
    // The session survives a reload (HttpOnly cookie; the page never sees it).
    expect(await page.evaluate(() => document.cookie)).not.toContain('cityedge_session');
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-gateway="gw-hieu"]');
    const origin = new URL(stack.url).origin;
    expect(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
    await page.browserContext().close();
  });

  it('switches language and remembers the choice', async () => {
    const page = await newPage(browser, { language: 'vi-VN' });
    await signIn(page, stack.url);
    await page.waitForSelector('[data-gateway="gw-hieu"]');
    expect(await text(page, '#fleet-title')).toBe('Thiết bị');
    await page.select('#lang', 'en');
    await page.waitForFunction(() => document.querySelector('#fleet-title')?.textContent === 'Fleet');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-gateway="gw-hieu"]');
    expect(await text(page, '#fleet-title')).toBe('Fleet');
    expect(await text(page, 'nav a[href="#/alarms"]')).toBe('Alarms');
    await page.browserContext().close();
  });

  it('shows the fleet at phone width (360 px) without horizontal scrolling, with state, config and filters', async () => {
    for (const lang of ['vi-VN', 'en-GB']) {
      const page = await newPage(browser, { language: lang, width: 360, height: 740 });
      await signIn(page, stack.url);
      await page.waitForSelector('[data-gateway="gw-hieu"][data-state="online"]');
      await page.waitForSelector('[data-gateway="gw-pump-2"]');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      await screenshot(page, `fleet-phone-${lang.slice(0, 2)}`);
      await page.select('#filter-tag', 'pump');
      await page.waitForFunction(() => !document.querySelector('[data-gateway="gw-hieu"]'));
      expect(await page.$('[data-gateway="gw-pump-2"]')).not.toBeNull();
      await page.browserContext().close();
    }
  });

  it('enrols a gateway from the QR page and sees it come online', async () => {
    const page = await newPage(browser, { language: 'en-GB' });
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/#/enrol`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#f-id');
    // A bad id is refused at its field.
    await page.type('#f-id', 'Bad Id!');
    await page.click('form button[type=submit]');
    await page.waitForSelector('.field-error[data-field="id"]');
    expect(await page.$eval('#f-id', (e) => e.getAttribute('aria-invalid'))).toBe('true');
    await page.$eval('#f-id', (e) => ((e as HTMLInputElement).value = ''));
    await page.type('#f-id', 'gw-thachhan');
    await page.type('#f-name', 'Thạch Hãn river post');
    await page.select('#f-siteId', 'dongha');
    await page.click('form button[type=submit]');
    await page.waitForSelector('#enrol-code');
    const code = await text(page, '#enrol-code');
    const link = await text(page, '#enrol-link');
    expect(link).toBe(`${stack.url}/enroll#code=${encodeURIComponent(code)}`);
    expect(await page.$('.qr svg')).not.toBeNull();
    expect(await page.$eval('#enrol-state', (e) => e.getAttribute('data-state'))).not.toBe('online');
    await screenshot(page, 'enrol-en');
    // The gateway enrols with the code shown on the page and connects.
    const fake = await FakeGateway.enroll(stack.url, code);
    await fake.connect();
    try {
      await page.waitForSelector('#enrol-state[data-state="online"]', { timeout: 60_000 });
    } finally {
      await fake.disconnect();
    }
    await page.browserContext().close();
  });

  it('edits a device: a validation error is shown at its field, then fixed and saved', async () => {
    const page = await newPage(browser, { language: 'en-GB' });
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/#/gateway/gw-hieu`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-point="th-1/temperature"] .value');
    await screenshot(page, 'gateway-en');
    await page.click('[data-device="th-1"] .device-head button');
    await page.waitForSelector('#f-unitId');
    await page.$eval('#f-unitId', (e) => ((e as HTMLInputElement).value = ''));
    await page.type('#f-unitId', '300');
    await page.click('.editor button[type=submit]');
    await page.waitForSelector('.field-error[data-field="unitId"]');
    expect(await text(page, '.field-error[data-field="unitId"]')).toMatch(/255|247/);
    expect(await page.$eval('#f-unitId', (e) => e.getAttribute('aria-invalid'))).toBe('true');
    expect(await page.$eval('#f-unitId', (e) => e.getAttribute('aria-describedby'))).toBe('f-unitId-error');
    await page.$eval('#f-unitId', (e) => ((e as HTMLInputElement).value = ''));
    await page.type('#f-unitId', '7');
    await page.click('.editor button[type=submit]');
    await page.waitForFunction(() => !document.querySelector('.editor'));
    expect((await stack.api<{ unitId: number }>('GET', '/v1/gateways/gw-hieu/devices/th-1')).body.unitId).toBe(7);
    await page.waitForFunction(() => /unit 7/.test(document.querySelector('[data-device="th-1"] .device-head')?.textContent ?? ''));
    await page.browserContext().close();
  });

  it('pushes the configuration and sees the gateway commit it', async () => {
    // The fake gateway answers a configuration as the agent does: committed, running it.
    const prefix = gw1.identity.mqtt.topicPrefix;
    const page = await newPage(browser, { language: 'vi-VN' });
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/#/gateway/gw-hieu`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#push-config');
    await page.click('#push-config');
    await page.waitForSelector('#config-report');
    const version = Number(await page.$eval('#config-report', (e) => e.closest('section')?.querySelector('tr[data-version]')?.getAttribute('data-version')));
    expect(version).toBeGreaterThan(0);
    await gw1.publish(topicFor(gw1.id, Channel.configReport, prefix), JSON.stringify({ v: 1, gw: gw1.id, version, state: 'committed', ts: Date.now(), running: version }));
    await page.waitForSelector('#config-report[data-state="committed"]', { timeout: 60_000 });
    expect(await text(page, '#config-report .badge')).toBe('đã xác nhận');
    await screenshot(page, 'gateway-vi');
    await page.browserContext().close();
  });
});

async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => (e.textContent ?? '').trim());
}

