import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Central } from '@cityedge/device-registry';
import { AGENT_BUILD } from '../global-setup.js';
import { startTestCentral } from '../support/central.js';
import { tempDir } from '../support/fixtures.js';

const ADMIN = 'test-admin-token-one-message-0001';

/**
 * One rule, one message, one wording everywhere: the same bad value in a line or device gets the
 * same words from the registry's API (4xx) as from `cityedge-agent check-config`.
 */
type Case =
  | { what: string; line: Record<string, unknown>; field: string }
  | { what: string; lineType: 'tcp' | 'rtu'; device: Record<string, unknown>; field: string };

const TCP = { type: 'tcp', host: '127.0.0.1' };
const RTU = { type: 'rtu', path: '/dev/ttyUSB0' };

const CASES: Case[] = [
  { what: 'unit id 300', lineType: 'tcp', device: { unitId: 300 }, field: 'unitId' },
  { what: 'unit id 0 on a serial line', lineType: 'rtu', device: { unitId: 0 }, field: 'unitId' },
  { what: 'unit id as a string', lineType: 'tcp', device: { unitId: '3' }, field: 'unitId' },
  { what: 'poll interval 1e308', lineType: 'tcp', device: { pollIntervalMs: 1e308 }, field: 'pollIntervalMs' },
  { what: 'poll interval 50 ms', lineType: 'tcp', device: { pollIntervalMs: 50 }, field: 'pollIntervalMs' },
  { what: 'poll interval with a fraction', lineType: 'tcp', device: { pollIntervalMs: 1000.5 }, field: 'pollIntervalMs' },
  { what: 'a typo in a device key', lineType: 'tcp', device: { pollInterval: 1000 }, field: '' },
  { what: 'a point range upside down', lineType: 'tcp', device: { points: { temperature: { range: { min: 10, max: 0 } } } }, field: 'points.temperature.range' },
  { what: 'a serial path escaping /dev', line: { ...RTU, path: '../../../../etc/passwd' }, field: 'path' },
  { what: 'a serial path outside /dev', line: { ...RTU, path: '/etc/passwd' }, field: 'path' },
  { what: 'a negative baud rate', line: { ...RTU, baudRate: -5 }, field: 'baudRate' },
  { what: 'parity "mark"', line: { ...RTU, parity: 'mark' }, field: 'parity' },
  { what: 'port 70000', line: { ...TCP, port: 70000 }, field: 'port' },
  { what: 'retries 9', line: { ...TCP, retries: 9 }, field: 'retries' },
  { what: 'a typo in a line key', line: { ...RTU, baudrate: 9600 }, field: '' },
];

describe('the registry and check-config word a bad value the same way', () => {
  let central: Central;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${central.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as { error: { message: string; field: string; problems?: Array<{ path: string; message: string }> } } };
  };

  beforeAll(async () => {
    central = await startTestCentral({ adminToken: ADMIN });
    expect((await api('POST', '/v1/gateways', { id: 'gw-words' })).status).toBe(201);
    expect((await api('PUT', '/v1/gateways/gw-words/lines/bus', TCP)).status).toBe(201);
    expect((await api('PUT', '/v1/gateways/gw-words/lines/rs485', RTU)).status).toBe(201);
  });
  afterAll(async () => central?.stop());

  /** check-config on a file with just this case's line; its problems by path. */
  const checkConfig = (c: Case, i: number) =>
    new Promise<Map<string, string>>((resolve) => {
      const line = 'line' in c ? { id: `l${i}`, ...c.line } : { id: `l${i}`, ...(c.lineType === 'tcp' ? TCP : RTU), devices: [{ id: `d${i}`, profile: 'sht20', ...c.device }] };
      const dir = tempDir('cityedge-words-');
      const file = join(dir, 'agent.yaml');
      writeFileSync(file, stringify({ gateway: { id: 'gw-words' }, forwarding: { brokerUrl: 'mqtt://127.0.0.1:1' }, lines: [line] }));
      const p = spawn(process.execPath, [AGENT_BUILD, 'check-config', '--config', file, '--state-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.once('exit', () => {
        const says = new Map<string, string>();
        for (const row of err.split('\n')) {
          const m = /^.*?agent\.yaml: (\S+): (.*)$/.exec(row);
          if (m) says.set(m[1]!, m[2]!);
        }
        resolve(says);
      });
    });

  it('for every case in the table', { timeout: 120_000 }, async () => {
    const mismatches: string[] = [];
    // A few agents at a time: each case is its own file, so document-wide rules (unit ids on a serial bus) are reached.
    const agentSaid: Array<Map<string, string>> = [];
    for (let i = 0; i < CASES.length; i += 4) agentSaid.push(...(await Promise.all(CASES.slice(i, i + 4).map((c, k) => checkConfig(c, i + k)))));
    for (const [i, c] of CASES.entries()) {
      const res = 'line' in c ? await api('PUT', `/v1/gateways/gw-words/lines/l${i}`, c.line) : await api('POST', '/v1/gateways/gw-words/devices', { id: `d${i}`, lineId: c.lineType === 'tcp' ? 'bus' : 'rs485', profile: 'sht20', ...c.device });
      expect(res.status, `${c.what}: ${JSON.stringify(res.body)}`).toBe(400);
      const apiField = `body${c.field ? `.${c.field}` : ''}`;
      expect(res.body.error.field, c.what).toBe(apiField);
      expect(res.body.error.problems, c.what).toHaveLength(1);
      const apiMessage = res.body.error.message.slice(`${apiField}: `.length);
      const agentPath = 'line' in c ? `lines[0]${c.field ? `.${c.field}` : ''}` : `lines[0].devices[0]${c.field ? `.${c.field}` : ''}`;
      const says = agentSaid[i]!;
      // One rule, one message: check-config says exactly one thing, and the same thing.
      if (says.size !== 1 || says.get(agentPath) !== apiMessage) mismatches.push(`${c.what}: API "${apiMessage}", check-config ${JSON.stringify(Object.fromEntries(says))}`);
    }
    expect(mismatches).toEqual([]);
  });
});
