import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startSimulation } from '@cityedge/simulators';
import { AGENT_BUILD } from '../global-setup.js';
import { buildAgent, quiet, tempDir, waitUntil } from '../support/fixtures.js';
import { TestBroker } from '@cityedge/test-support';

function agentCli(...args: string[]) {
  return agentCliEnv({}, ...args);
}

function agentCliEnv(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [AGENT_BUILD, ...args], { encoding: 'utf8', timeout: 15_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('cityedge-agent command line', { timeout: 90_000 }, () => {
  it('accepts the shipped example configuration', () => {
    const r = agentCli('check-config', '--config', 'deploy/config/agent.example.yaml', '--state-dir', tempDir());
    expect(r.err).toBe('');
    expect(r.out).toMatch(/agent\.example\.yaml: ok \(gateway gw-dongha-01, 3 lines, 7 devices\)/);
    expect(r.code).toBe(0);
  });

  it('refuses to start on a bad configuration, naming every problem and where', () => {
    const dir = tempDir();
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      ['gateway: { id: gw-1 }', 'forwarding: { brokerUrl: "tcp://x" }', 'lines:', '  - { id: a, type: rtu, path: /dev/ttyUSB0, baudrate: 9600, devices: [{ id: d, profile: nope }] }'].join('\n'),
    );
    const r = agentCli('run', '--config', file, '--state-dir', dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}: forwarding.brokerUrl: expected a mqtt://, mqtts://, ws:// or wss:// URL`);
    expect(r.err).toContain(`${file}: lines[0]: unknown key "baudrate"`);
    noStackTrace(r.err);
  });

  it('reports YAML syntax errors, unknown flags and missing files plainly', () => {
    const dir = tempDir();
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'gateway:\n  id: [gw\n');
    let r = agentCli('check-config', '--config', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.yaml: line \d+, column \d+: /);
    r = agentCli('run', '--colour');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown option '--colour'/);
    r = agentCli('check-config', '--config', join(dir, 'missing.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('missing.yaml: (file): cannot read: ENOENT');
    for (const x of [r.err]) noStackTrace(x);
  });

  it('tells a gateway with neither configuration nor enrollment how to enroll', () => {
    const dir = tempDir();
    const missing = join(dir, 'agent.yaml');
    for (const command of ['run', 'check-config']) {
      const r = agentCliEnv({ CITYEDGE_CONFIG: missing }, command, '--state-dir', dir);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`this gateway is not enrolled (no ${join(dir, 'identity.json')}) and has no configuration file (${missing})`);
      expect(r.err).toContain("sudo -u cityedge cityedge-agent enroll 'https://<registry>/enroll#code=<code>'");
      noStackTrace(r.err);
    }
  });

  it('prints its version with --version, -V and version', () => {
    const versions = [agentCli('--version'), agentCli('-V'), agentCli('version')];
    for (const r of versions) {
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    }
  });

  it('refuses enrollment arguments that do not fit, naming them', () => {
    const cases: Array<[string[], RegExp]> = [
      [['enroll'], /--registry: expected the registry URL/],
      [['enroll', '--registry', 'https://r.example'], /--code: expected the enrollment code/],
      [['enroll', 'https://r.example/other#code=1'], /https:\/\/r\.example\/other#code=1: expected a link ending in \/enroll/],
      [['enroll', 'https://r.example/enroll#code=1', '--code', '2'], /either the enrollment link or --registry and --code/],
      [['run', '--log-format', 'text'], /--log-format: expected json or pretty, got "text"/],
    ];
    for (const [args, message] of cases) {
      const r = agentCli(...args, '--state-dir', tempDir());
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      noStackTrace(r.err);
    }
  });

  it('logs pretty lines at a person\'s request and JSON lines otherwise', async () => {
    const dir = tempDir();
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'gateway: { id: gw-logs }\nforwarding: { brokerUrl: "mqtt://127.0.0.1:9" }\nhttp: { enabled: false }\n');
    const firstLine = async (...extra: string[]) => {
      const child = spawn(process.execPath, [AGENT_BUILD, 'run', '--config', file, '--state-dir', dir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await waitUntil(() => out.includes('agent started'), 10_000, 'the agent to log its start');
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return out.split('\n').find((l) => l.includes('agent started'))!;
    };
    expect(JSON.parse(await firstLine())).toMatchObject({ msg: 'agent started', gateway: 'gw-logs' });
    const pretty = await firstLine('--log-format', 'pretty');
    expect(() => JSON.parse(pretty)).toThrow();
    expect(pretty).toMatch(/INFO.*agent started/);
  });
});

describe('agent status endpoints', () => {
  const broker = new TestBroker();
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    await broker.stop();
  });

  it('serves /healthz and Prometheus /metrics', async () => {
    await broker.start();
    const sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'th', model: 'sht20', unitId: 1 }] }] }, { logger: quiet });
    cleanup.push(() => sim.stop());
    const agent = await buildAgent({
      gateway: { id: 'gw-http' },
      lines: [{ id: 'bus', type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port!, devices: [{ id: 'th', profile: 'sht20', unitId: 1, pollIntervalMs: 200 }, { id: 'ghost', profile: 'sht20', unitId: 9, pollIntervalMs: 200 }] }],
      forwarding: { brokerUrl: broker.url },
      http: { host: '127.0.0.1', port: 0 },
    });
    await agent.start();
    cleanup.push(() => agent.stop());
    const base = `http://127.0.0.1:${agent.httpPort}`;
    const ghostPolled = () => agent.lines[0]!.stats().devices.find((d) => d.id === 'ghost')!.polls > 0;
    await waitUntil(() => agent.session.stats().connected && agent.drain.stats().acked > 1 && ghostPolled(), 10_000, 'forwarding');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    // One of the two devices does not exist on the bus: degraded, not failing.
    expect(await health.json()).toMatchObject({ status: 'degraded', checks: { broker: { ok: true }, devices: { ok: false, detail: '1 of 2 answering' } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/cityedge_polls_total\{line="bus",device="th",result="ok"\} [1-9]/);
    expect(metrics).toMatch(/cityedge_device_up\{line="bus",device="ghost"\} 0/);
    expect(metrics).toMatch(/cityedge_mqtt_connected 1/);
    expect(metrics).toMatch(/cityedge_mqtt_acked_messages_total [1-9]/);
    // The process metrics, without the GC histogram: observing every collection costs the agent
    // more memory than it tells (see edge-agent/src/http/process-metrics.ts).
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_heap_space_size_used_bytes', 'process_open_fds', 'nodejs_version_info']) expect(metrics).toContain(`\ncityedge_${name}`);
    expect(metrics).not.toContain('gc_duration');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('keeps forwarding when its status port is taken', async () => {
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => squatter.close(() => r())));
    const port = (squatter.address() as { port: number }).port;
    const agent = await buildAgent({ gateway: { id: 'gw-http-taken' }, forwarding: { brokerUrl: broker.url }, http: { host: '127.0.0.1', port } });
    await agent.start();
    cleanup.push(() => agent.stop());
    expect(agent.httpPort).toBeUndefined();
    await waitUntil(() => agent.drain.stats().acked > 0, 10_000, 'forwarding without the status server');
  });
});
