/// <reference lib="dom" />
// Code passed to page.evaluate runs in the browser.
import { execFile } from 'node:child_process';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, encodeCamerasStatus, encodeEvent, encodeEventsMessage, topicFor, type GatewayEvent } from '@cityedge/contract';
import { startCameraSimulation, type CameraSimulation } from '@cityedge/simulators';
import { eventually, quiet } from '@cityedge/test-support';
import { reportedInventory } from '../support/fixtures.js';
import type { FakeGateway } from '../../device-registry/src/testing/fake-gateway.js';
import { buildConsole, launchChromium, newPage, screenshot, signIn, startConsoleStack, type ConsoleStack } from '../support/console.js';

const CAM_PASSWORD = 'Cam-Pa55-live';

function ffmpegOk(): Promise<boolean> {
  return new Promise((resolve) => execFile('ffmpeg', ['-version'], { timeout: 10_000 }, (err) => resolve(!err)));
}

/**
 * Live updates in the browser: a flood alarm raised at a gateway appears on the alarms page
 * through the registry's event stream (no reload) in its level's colour and is acknowledged from
 * the page; a camera's live view plays in the page (jsmpeg decoding MPEG-1 that the registry's
 * ffmpeg relays from the camera simulator) and stops when the viewer leaves. Needs Chromium and
 * ffmpeg; fails without them.
 */
describe('the console live: alarms and camera view', { timeout: 120_000 }, () => {
  let stack: ConsoleStack;
  let browser: Browser;
  let gw: FakeGateway;
  let sim: CameraSimulation;

  beforeAll(async () => {
    if (!(await ffmpegOk())) throw new Error('ffmpeg is required for this test (apt-get install ffmpeg)');
    await buildConsole();
    sim = await startCameraSimulation({ cameras: [{ id: 'cam-1', username: 'admin', password: CAM_PASSWORD, width: 320, height: 184, fps: 10 }] }, { logger: quiet });
    stack = await startConsoleStack();
    browser = await launchChromium();
    await stack.api('POST', '/v1/sites', { id: 'dongha', name: 'Đông Hà', timeZone: 'Asia/Ho_Chi_Minh' });
    gw = await stack.onlineGateway('gw-dongha', { siteId: 'dongha', name: 'Trạm Đông Hà' });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await sim?.stop();
  });

  let seq = 0;
  const sendEvents = (...events: GatewayEvent[]) => gw.publish(topicFor(gw.id, Channel.events, gw.identity.mqtt.topicPrefix), encodeEventsMessage(gw.id, ++seq, events.map(encodeEvent)));

  it('shows a flood alarm live in its level colour and acknowledges it from the page', async () => {
    for (const lang of ['vi-VN', 'en-GB']) {
      const page = await newPage(browser, { language: lang });
      await signIn(page, stack.url);
      await page.goto(`${stack.url}/#/alarms`, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#alarms-title');
      if (lang === 'vi-VN') {
        // Not there yet; raised while the page is open, it appears without a reload.
        await page.waitForSelector('body[data-stream="open"]');
        expect(await page.$('[data-key="flood.level/dongha"]')).toBeNull();
        await sendEvents({ type: 'flood.level', ts: Date.now(), severity: 'critical', dev: 'river', message: 'Sông Hiếu 3,12 m: trên báo động II', alarm: { key: 'flood.level/dongha', state: 'raised', level: 'BD_II' } });
        await eventually(async () => ((await stack.api<{ alarms: unknown[] }>('GET', '/v1/alarms')).body.alarms.length > 0 ? true : undefined), 30_000, 'the alarm at the registry');
        await sendEvents({ type: 'device.offline', ts: Date.now(), severity: 'warning', dev: 'rain-1', message: 'rain-1 stopped answering', alarm: { key: 'device.offline/rain-1', state: 'raised' } });
      }
      // Raised in Vietnamese, then acknowledged there: the English page shows it acknowledged.
      await page.waitForSelector(`[data-key="flood.level/dongha"][data-state="${lang === 'vi-VN' ? 'raised' : 'acknowledged'}"]`);
      const colour = await page.$eval('[data-key="flood.level/dongha"] .level', (e) => getComputedStyle(e).backgroundColor);
      expect(colour).toBe('rgb(255, 126, 0)');
      expect(await page.$eval('[data-key="flood.level/dongha"] .level', (e) => e.textContent)).toBe(lang === 'vi-VN' ? 'Báo động II' : 'Flood alert II');
      await screenshot(page, `alarms-${lang.slice(0, 2)}`);
      if (lang === 'vi-VN') {
        await page.click('[data-key="flood.level/dongha"] button.primary');
        await page.waitForSelector('[data-key="flood.level/dongha"][data-state="acknowledged"] .ackby');
        expect(await page.$eval('[data-key="flood.level/dongha"] .ackby', (e) => e.textContent)).toMatch(/lan/);
        const alarms = (await stack.api<{ alarms: Array<{ key: string; acknowledgedBy: string | null }> }>('GET', '/v1/alarms?state=all')).body.alarms;
        expect(alarms.find((a) => a.key === 'flood.level/dongha')?.acknowledgedBy).toMatch(/lan/);
      }
      await page.browserContext().close();
    }
  });

  it("plays a camera's live view in the page (frames decoded in the canvas) and stops it when the viewer leaves", async () => {
    const info = sim.camera('cam-1').info();
    expect((await stack.api('POST', `/v1/gateways/${gw.id}/cameras`, { id: 'cam-1', name: 'Cổng trạm', host: info.host, onvifPort: info.httpPort, username: 'admin', password: CAM_PASSWORD })).status).toBe(201);
    const ts = Date.now();
    const inventory = reportedInventory(info);
    await sendEvents({ type: 'camera.inventory', ts, severity: 'info', dev: 'cam-1', message: 'inventory', data: inventory });
    await gw.publish(topicFor(gw.id, Channel.cameras, gw.identity.mqtt.topicPrefix), encodeCamerasStatus({ v: 1, gw: gw.id, ts, cameras: [{ id: 'cam-1', state: 'online', reasons: [], since: ts, checkedAt: ts, codec: 'JPEG', width: 320, height: 184 }] }));
    await eventually(async () => ((await stack.api<{ cameras: Array<{ inventory: unknown }> }>('GET', `/v1/gateways/${gw.id}/cameras/status`)).body.cameras[0]?.inventory ? true : undefined), 30_000, 'the reported camera');

    const page = await newPage(browser, { language: 'en-GB' });
    await signIn(page, stack.url);
    await page.goto(`${stack.url}/#/cameras`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-camera="cam-1"][data-state="online"] button');
    await page.click('[data-camera="cam-1"] button');
    await page.waitForSelector('#live-canvas[data-playing="yes"]', { timeout: 60_000 });
    // Decoded frames in the canvas: many distinct colours (the simulator's moving picture), not a blank.
    const colours = await page.waitForFunction(
      () => {
        const c = document.querySelector<HTMLCanvasElement>('#live-canvas')!;
        const ctx = c.getContext('2d');
        if (!ctx || c.width === 0) return 0;
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < data.length; i += 4 * 37) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
        return seen.size > 20 ? seen.size : 0;
      },
      { timeout: 30_000, polling: 250 },
    );
    expect(await colours.jsonValue()).toBeGreaterThan(20);
    expect(await page.$eval('#live-canvas', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height])).toEqual([320, 184]);
    expect(stack.central.registry.app.liveView.stats().relays).toHaveLength(1);
    await screenshot(page, 'cameras-en');
    // Leaving the page closes the player's WebSocket; the registry stops ffmpeg.
    await page.goto(`${stack.url}/#/fleet`, { waitUntil: 'domcontentloaded' });
    await eventually(async () => (stack.central.registry.app.liveView.stats().relays.length === 0 ? true : undefined), 20_000, 'the relay to stop');
    await page.browserContext().close();
  });
});
