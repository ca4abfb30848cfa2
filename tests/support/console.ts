/// <reference lib="dom" />
// Code passed to page.evaluate runs in the browser.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build } from 'vite';
import { startCentral, type Central } from '@cityedge/device-registry';
import { FakeGateway } from '../../device-registry/src/testing/fake-gateway.js';
import { quiet, tempDir } from './fixtures.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));
export const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));
export const ADMIN_TOKEN = 'console-test-admin-token-0123456789';
export const USER = { username: 'lan', password: 'song-Hieu-2020-lu' };

/** Builds the console (Vite) into console/dist, as `npm run build` does. */
export async function buildConsole(): Promise<string> {
  await build({ configFile: fileURLToPath(new URL('../../console/vite.config.ts', import.meta.url)), logLevel: 'warn' });
  return CONSOLE_DIST;
}

/** Debian's Chromium, headless; fails (never skips) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

export interface ConsoleStack {
  central: Central;
  url: string;
  /** Admin Bearer calls for the test's own set-up. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Creates a gateway and enrols a fake one that says it is online. */
  onlineGateway(id: string, extra?: { siteId?: string; name?: string; tags?: string[] }): Promise<FakeGateway>;
  stop(): Promise<void>;
}

/** The central side (registry serving the built console, embedded broker) with a console account. */
export async function startConsoleStack(): Promise<ConsoleStack> {
  const central = await startCentral({
    dataDir: tempDir('cityedge-console-'),
    logger: quiet,
    http: { host: '127.0.0.1', port: 0 },
    broker: { mode: 'embedded', host: '127.0.0.1', port: 0 },
    adminToken: ADMIN_TOKEN,
    adminAccount: USER,
  });
  const fakes: FakeGateway[] = [];
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(central.url + path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined && { 'content-type': 'application/json' }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  return {
    central,
    url: central.url,
    api,
    async onlineGateway(id, extra = {}) {
      const created = await api<{ enrollment: { code: string } }>('POST', '/v1/gateways', { id, ...extra });
      if (created.status !== 201) throw new Error(`gateway ${id}: ${created.status} ${JSON.stringify(created.body)}`);
      const fake = await FakeGateway.enroll(central.url, created.body.enrollment.code);
      await fake.connect();
      fakes.push(fake);
      return fake;
    },
    async stop() {
      for (const f of fakes) await f.disconnect().catch(() => undefined);
      await central.stop();
    },
  };
}

/** A page that reports itself as a browser in `language` (navigator.language) at `width`x`height`. */
export async function newPage(browser: Browser, o: { language?: string; width?: number; height?: number } = {}): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: o.width ?? 1280, height: o.height ?? 860 });
  const language = o.language ?? 'en-GB';
  await page.evaluateOnNewDocument((lang: string) => {
    Object.defineProperty(navigator, 'language', { get: () => lang });
    Object.defineProperty(navigator, 'languages', { get: () => [lang] });
  }, language);
  page.setDefaultTimeout(30_000);
  return page;
}

/** Every request the page makes, to check that it talks to the registry only. */
export function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}

export async function signIn(page: Page, url: string, user = USER): Promise<void> {
  await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#username');
  await page.type('#username', user.username);
  await page.type('#password', user.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('header.top nav');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, type: 'png', optimizeForSpeed: true });
}
