import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { builtinProfiles, createCatalog, generateSigningKey, resolveGatewayConfig, signConfig, type ConfigReport, type ResolvedConfig } from '@cityedge/contract';
import { ConfigManager, type HealthSnapshot } from './config-manager.js';

const GW = 'gw-health';
const key = generateSigningKey();

function doc(lines: object[]): Record<string, unknown> {
  return { gateway: { id: GW }, forwarding: { brokerUrl: 'mqtt://127.0.0.1:1' }, ota: { healthWindowMs: 1000 }, lines };
}

function resolve(d: Record<string, unknown>): ResolvedConfig {
  const r = resolveGatewayConfig(d, createCatalog(builtinProfiles));
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

const rtu = (path: string) => ({ id: 'rs485', type: 'rtu', path, devices: [{ id: 'river', profile: 'vegapuls-c21' }] });
const tcp = { id: 'bus', type: 'tcp', host: '127.0.0.1', devices: [{ id: 'th', profile: 'sht20' }] };

/**
 * The health check's rule for serial ports (logic only: the health before and after is given,
 * not measured). A line this configuration changed whose port opened before and cannot now rolls
 * back; a port that was missing before, or one a new line names, commits, and the report of the
 * running configuration names the line.
 */
async function attempt(current: object[], next: object[], before: HealthSnapshot, after: HealthSnapshot | (() => HealthSnapshot)): Promise<ConfigReport> {
  const reports: ConfigReport[] = [];
  let health = (): HealthSnapshot => before;
  const cm = new ConfigManager({
    gatewayId: GW,
    stateDir: mkdtempSync(join(tmpdir(), 'cityedge-cm-')),
    trustedKeys: [key.publicKeyPem],
    logger: pino({ level: 'silent' }),
    resolve: (d) => Promise.resolve({ ok: true, value: resolve(d) }),
    apply: () => {
      health = typeof after === 'function' ? after : () => after;
      return Promise.resolve();
    },
    health: () => health(),
    report: (r) => reports.push(r),
  });
  await cm.boot(resolve(doc(current)));
  cm.receive(Buffer.from(JSON.stringify(signConfig({ gatewayId: GW, version: 1, config: doc(next) }, key.privateKeyPem))));
  const deadline = Date.now() + 10_000;
  while (!reports.some((r) => r.state === 'committed' || r.state === 'rolled_back' || r.state === 'rejected')) {
    if (Date.now() > deadline) throw new Error(`no final report: ${JSON.stringify(reports)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await cm.stop();
  return reports.at(-1)!;
}

describe('the health check and serial ports', () => {
  const ok = { brokerConnected: true, devicesAnswering: 1 };

  it('commits a new line whose port cannot be opened: rolling back would not bring the adapter', async () => {
    const r = await attempt([tcp], [tcp, rtu('/dev/ttyUSB7')], { ...ok, linesOpen: ['bus'], linesUnopenable: [] }, { ...ok, linesOpen: ['bus'], linesUnopenable: ['rs485'] });
    expect(r.state).toBe('committed');
  });

  it('commits when the port was already missing before', async () => {
    const r = await attempt([tcp, rtu('/dev/ttyUSB7')], [{ ...tcp, port: 503 }, rtu('/dev/ttyUSB7')], { ...ok, linesOpen: ['bus'], linesUnopenable: ['rs485'] }, { ...ok, linesOpen: ['bus'], linesUnopenable: ['rs485'] });
    expect(r.state).toBe('committed');
  });

  it('rolls back a change that makes an open port unopenable (a mistyped path)', async () => {
    const r = await attempt([tcp, rtu('/dev/ttyUSB0')], [tcp, rtu('/dev/ttyUSB9')], { ...ok, linesOpen: ['bus', 'rs485'], linesUnopenable: [] }, { ...ok, linesOpen: ['bus'], linesUnopenable: ['rs485'] });
    expect(r).toMatchObject({ state: 'rolled_back', reason: expect.stringContaining('line rs485 cannot be opened any more') });
  });

  it('does not blame a configuration that left the line alone (an adapter unplugged meanwhile)', async () => {
    const r = await attempt([tcp, rtu('/dev/ttyUSB0')], [{ ...tcp, port: 503 }, rtu('/dev/ttyUSB0')], { ...ok, linesOpen: ['bus', 'rs485'], linesUnopenable: [] }, { ...ok, linesOpen: ['bus'], linesUnopenable: ['rs485'] });
    expect(r.state).toBe('committed');
  });

  it('judges a board still in its first handshake once the handshake ends: the committed report follows it', async () => {
    const board = { id: 'uno', type: 'firmata', host: '127.0.0.1', devices: [{ id: 'post', points: [{ name: 'siren', pin: 'D7', mode: 'digital-out' }] }] };
    // The health check finds the board starting three times, then answering.
    let startingLooks = 3;
    const after = (): HealthSnapshot => {
      if (startingLooks > 0) {
        startingLooks--;
        return { ...ok, linesOpen: ['bus'], linesUnopenable: [], linesStarting: ['uno'] };
      }
      return { ...ok, devicesAnswering: 2, linesOpen: ['bus', 'uno'], linesUnopenable: [], linesStarting: [] };
    };
    const r = await attempt([tcp], [tcp, board], { ...ok, linesOpen: ['bus'], linesUnopenable: [] }, after);
    expect(r.state).toBe('committed');
    expect(startingLooks).toBe(0);
  });
});
