/// <reference lib="dom" />
// Code passed to page.evaluate runs in the browser.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { Channel, topicFor } from '@cityedge/contract';
import { startCentral } from '@cityedge/device-registry';
import { defaultConsoleDir } from '../device-registry/src/routes/console-static.js';
import { FakeGateway } from '../device-registry/src/testing/fake-gateway.js';
import { CpuMeter } from './proc-stats.js';
import type { Row } from './report.js';
import type { Scope } from './scope.js';

const SECTION = '12. console in Chromium';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'bench-console-admin-token-0123456789';
const USER = { username: 'bench', password: 'bench-console-password-1' };
const POINTS = 50;
const TICK_MS = 100;

export interface ConsoleBenchOptions {
  logger: Logger;
  ticksPerSecond: number;
  windowMs: number;
  pages?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The console's cost: its first load (bytes over the wire, compressed, and the time until the
 * fleet is on screen) in Debian's Chromium, and the registry's CPU while a gateway sends 500
 * points/s (50 points every 100 ms) with no browser, then with `pages` browser pages open on that
 * gateway's page, each receiving every reading over its event stream. The registry runs in this
 * process with the fake gateway's MQTT client (the same in both phases); Chromium is apart.
 */
export async function benchConsole(scope: Scope, o: ConsoleBenchOptions): Promise<Row[]> {
  // 20 operators' pages on one gateway (BENCH_CONSOLE_PAGES to change it).
  const nPages = o.pages ?? Number(process.env.BENCH_CONSOLE_PAGES ?? 20);
  const consoleDir = defaultConsoleDir();
  if (!consoleDir) throw new Error('the console is not built: npm run build (or npm run build -w @cityedge/console)');
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM} (apt-get install chromium)`);
  const s = scope.child();
  try {
    const central = await startCentral({
      dataDir: s.tempDir('cityedge-bench-console-'),
      logger: o.logger,
      http: { host: '127.0.0.1', port: 0 },
      broker: { mode: 'embedded', host: '127.0.0.1', port: 0 },
      adminToken: ADMIN_TOKEN,
      adminAccount: USER,
    });
    s.defer(() => central.stop());
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(central.url + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, unknown>>;
    };
    const created = (await api('POST', '/v1/gateways', { id: 'gw-bench', name: 'bench gateway' })) as { enrollment: { code: string } };
    await api('PUT', '/v1/gateways/gw-bench/lines/bus1', { type: 'tcp', host: '127.0.0.1', port: 5020 });
    await api('POST', '/v1/gateways/gw-bench/devices', { id: 'meter', lineId: 'bus1', profile: 'sht20', unitId: 1 });
    const gw = await FakeGateway.enroll(central.url, created.enrollment.code);
    await gw.connect();
    s.defer(() => gw.disconnect());

    // 500 points/s: 50 readings every 100 ms, one telemetry message each.
    const topic = topicFor(gw.id, Channel.telemetry, gw.identity.mqtt.topicPrefix);
    let seq = 0;
    let sent = 0;
    let stop = false;
    const publisher = (async () => {
      let next = performance.now();
      while (!stop) {
        const ts = Date.now();
        const readings = Array.from({ length: POINTS }, (_, i) => ({ dev: 'meter', pt: `p${String(i).padStart(2, '0')}`, ts, v: Math.round(Math.sin(ts / 10_000 + i) * 1000) / 10, q: 'good', u: 'm' }));
        await gw.publish(topic, JSON.stringify({ v: 1, gw: gw.id, seq: ++seq, readings }));
        sent += POINTS;
        next += TICK_MS;
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    s.defer(async () => {
      stop = true;
      await publisher.catch(() => undefined);
    });

    const measure = async () => {
      const cpu = new CpuMeter(process.pid, o.ticksPerSecond);
      const sent0 = sent;
      const t0 = performance.now();
      cpu.begin();
      await sleep(o.windowMs);
      const pct = cpu.percent();
      return { pct, rate: ((sent - sent0) * 1000) / (performance.now() - t0) };
    };
    await sleep(3000);
    const idle = await measure();

    const launch = () => puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'] });
    const browser: Browser = await launch();
    s.defer(() => browser.close());
    // First load, nothing cached: the sign-in page, then the fleet once signed in.
    const first = await browser.newPage();
    await first.setCacheEnabled(false);
    const t0 = Date.now();
    await first.goto(`${central.url}/`, { waitUntil: 'domcontentloaded' });
    await first.waitForSelector('#username');
    const signInShownMs = Date.now() - t0;
    const load = await first.evaluate(() => {
      const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')] as PerformanceResourceTiming[];
      const own = entries.filter((e) => e.name.endsWith('/') || e.name.includes('/assets/'));
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      return { bytes: own.reduce((n, e) => n + e.transferSize, 0), decoded: own.reduce((n, e) => n + e.decodedBodySize, 0), files: own.length, domInteractive: nav?.domInteractive ?? 0 };
    });
    await first.type('#username', USER.username);
    await first.type('#password', USER.password);
    const t1 = Date.now();
    await first.click('button[type=submit]');
    await first.waitForSelector('[data-gateway="gw-bench"]');
    const fleetShownMs = Date.now() - t1;

    // Chromium keeps 6 connections per host for a browser context (HTTP/1.1) and each page holds
    // one for its event stream: every further page gets a browser context of its own (its own
    // connections and cookies, as that many operators' browsers would have), signed in by cookie
    // (the registry limits sign-ins per address).
    const cookies = await first.cookies();
    const pages: Page[] = [first];
    for (let i = 1; i < nPages; i++) {
      const context = await browser.createBrowserContext();
      const p = await context.newPage();
      await p.setCookie(...cookies);
      pages.push(p);
    }
    // One after another: twenty renderers starting at once on a small machine only time out.
    for (const p of pages) {
      await p.goto(`${central.url}/#/gateway/gw-bench`, { waitUntil: 'domcontentloaded', timeout: 180_000 });
      await p.waitForSelector('[data-device="meter"] .value', { timeout: 180_000 }).catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}; the page shows: ${JSON.stringify((await p.evaluate(() => document.body.innerText).catch(() => '')).slice(0, 200))}`);
      });
      await p.waitForSelector('body[data-stream="open"]', { timeout: 180_000 });
    }
    const stats = (central.registry.app as unknown as { streamStats: { open: number; droppedReadings: number; closedSlow: number } }).streamStats;
    const dropped0 = stats.droppedReadings;
    await sleep(2000);
    const busy = await measure();
    const open = stats.open;
    const dropped = stats.droppedReadings - dropped0;
    stop = true;
    await publisher;

    return [
      { section: SECTION, name: 'first load, transferred (compressed)', value: load.bytes / 1024, unit: 'KiB', target: { op: '<=', value: 300 }, note: `${load.files} files (page and assets), ${(load.decoded / 1024).toFixed(0)} KiB uncompressed; the live-view player (jsmpeg) loads only when a live view opens` },
      { section: SECTION, name: 'first load: sign-in page on screen', value: signInShownMs, unit: 'ms', note: `domInteractive ${load.domInteractive.toFixed(0)} ms; nothing cached` },
      { section: SECTION, name: 'signed in: fleet on screen', value: fleetShownMs, unit: 'ms', note: 'includes the password hash (scrypt) of the sign-in' },
      { section: SECTION, name: 'registry CPU at 500 points/s, no browser', value: idle.pct, unit: '% core', note: `${idle.rate.toFixed(0)} points/s sent; registry, embedded broker and the fake gateway's client in one process` },
      { section: SECTION, name: `registry CPU at 500 points/s, ${nPages} pages on the gateway`, value: busy.pct, unit: '% core', note: `${busy.rate.toFixed(0)} points/s sent; ${open} event streams open, ${dropped} readings dropped for slow pages; one Chromium, a browser context per page` },
    ];
  } finally {
    await s.close();
  }
}
