import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import pg from 'pg';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDynsecPlugin, RegistryClient } from '@cityedge/device-registry';
import { startSimulation, type Simulation } from '@cityedge/simulators';
import { bundleOptions } from '../../tsup.config.js';
import { AGENT_BUILD } from '../global-setup.js';
import { CENTRAL_DIR, loadCompose, readEnvFile, type ComposeFile } from '../support/compose.js';
import { eventually, quiet, tempDir } from '../support/fixtures.js';
import { freePort } from '@cityedge/test-support';

const run = promisify(execFile);
const PG_ADMIN = process.env.REGISTRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REGISTRY_BUILD = 'tests/.build/central-stack';
const ADMIN = 'central-stack-admin-token-0123456789';
const GW = 'gw-stack-01';

/** A child process whose output is kept for the failure message. */
function child(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { proc: ChildProcess; output: () => string } {
  let output = '';
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { proc, output: () => output };
}

async function stopChild(p: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill(signal);
  await exited;
}

/** Runs a compose health check (`CMD-SHELL` or `CMD`) here; its exit status. */
async function healthcheck(test: string[], rewrite: (s: string) => string, env: NodeJS.ProcessEnv = {}): Promise<number> {
  const [kind, ...rest] = test;
  const [cmd, args] = kind === 'CMD-SHELL' ? ['sh', ['-c', rewrite(rest.join(' '))]] : [rest[0] === 'node' ? process.execPath : rest[0]!, rest.slice(1).map(rewrite)];
  try {
    await run(cmd, args, { env: { ...process.env, ...env }, timeout: 20_000 });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? 1;
  }
}

/**
 * The central compose stack without a container engine: its Mosquitto configuration with the
 * certificate make-broker-cert.sh makes, the init and health-check commands of the compose file,
 * PostgreSQL, and the registry process with the compose file's command and environment (service
 * names and ports rewritten to loopback). A real agent process enrolls, is told the public mqtts
 * URL, trusts the private CA through NODE_EXTRA_CA_CERTS (as the README says), commits its
 * configuration and sends telemetry over TLS.
 */
describe('central stack: broker TLS certificate, Mosquitto, PostgreSQL, registry, gateway over mqtts', () => {
  const env = readEnvFile(`${CENTRAL_DIR}/central.env.example`);
  const dir = tempDir('cityedge-central-stack-');
  const certs = join(dir, 'certs');
  const data = join(dir, 'mosquitto-data');
  const dynsecPassword = randomBytes(12).toString('hex');
  let compose: ComposeFile;
  let mqttPort: number;
  let tlsPort: number;
  let mosquitto: ReturnType<typeof child> | undefined;
  let registry: ReturnType<typeof child> | undefined;
  let agent: ReturnType<typeof child> | undefined;
  let sim: Simulation | undefined;
  let database = '';
  let registryUrl = '';

  beforeAll(async () => {
    ({ compose } = loadCompose({ ...env, DYNSEC_ADMIN_PASSWORD: dynsecPassword }));
    [mqttPort, tlsPort] = [await freePort(), await freePort()];
    await build({ ...bundleOptions, config: false, entry: { 'cityedge-registry': 'device-registry/src/main.ts' }, outDir: REGISTRY_BUILD, sourcemap: false });
  }, 120_000);

  afterAll(async () => {
    await stopChild(agent?.proc);
    await stopChild(registry?.proc);
    await stopChild(mosquitto?.proc, 'SIGKILL');
    await sim?.stop();
    if (database) {
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await c.end();
    }
  });

  it('make-broker-cert.sh makes a CA and a server certificate for the given names, and renews with the same CA', async () => {
    await run('bash', [`${CENTRAL_DIR}/make-broker-cert.sh`, '-d', certs, 'localhost', '127.0.0.1', 'broker.ioc.example.vn']);
    const verify = await run('openssl', ['verify', '-CAfile', join(certs, 'ca.crt'), join(certs, 'broker.crt')]);
    expect(verify.stdout.trim()).toBe(`${join(certs, 'broker.crt')}: OK`);
    const ext = (await run('openssl', ['x509', '-in', join(certs, 'broker.crt'), '-noout', '-ext', 'subjectAltName,extendedKeyUsage,basicConstraints'])).stdout;
    expect(ext).toContain('DNS:localhost, IP Address:127.0.0.1, DNS:broker.ioc.example.vn');
    expect(ext).toContain('TLS Web Server Authentication');
    expect(ext).toContain('CA:FALSE');
    expect(statSync(join(certs, 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(certs, 'broker.key')).mode & 0o777).toBe(0o640);
    const ca = readFileSync(join(certs, 'ca.crt'));
    const first = readFileSync(join(certs, 'broker.crt'));
    await run('bash', [`${CENTRAL_DIR}/make-broker-cert.sh`, '-d', certs, 'localhost', '127.0.0.1']);
    expect(readFileSync(join(certs, 'ca.crt'))).toEqual(ca);
    expect(readFileSync(join(certs, 'broker.crt'))).not.toEqual(first);
    const bad = await run('bash', [`${CENTRAL_DIR}/make-broker-cert.sh`, '-d', certs, 'not a name']).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('"not a name" is neither a DNS name nor an IP address') });
  });

  it("Mosquitto runs the compose stack's configuration with that certificate, and its health check passes", async () => {
    // The compose file's one-shot init, as written (paths of the container's volume mapped here).
    const init = compose.services['mosquitto-init']!;
    await run('mkdir', ['-p', data]);
    await run('sh', ['-c', init.command![0]!.replaceAll('/mosquitto/data', data)], { env: { ...process.env, ...init.environment } });
    expect(statSync(join(data, 'dynamic-security.json')).mode & 0o777).toBe(0o600);

    const plugin = findDynsecPlugin();
    if (!plugin) throw new Error('mosquitto dynamic-security plugin not found: apt-get install mosquitto');
    const conf = readFileSync(`${CENTRAL_DIR}/mosquitto/cityedge.conf`, 'utf8')
      .replace(/^listener 8883$/m, `listener ${tlsPort} 127.0.0.1`)
      .replace(/^listener 1883$/m, `listener ${mqttPort} 127.0.0.1`)
      .replace(/^plugin \S+$/m, `plugin ${plugin}`)
      .replaceAll('/mosquitto/certs', certs)
      .replaceAll('/mosquitto/data/', `${data}/`);
    expect(conf).not.toMatch(/\/mosquitto\//);
    // As root Mosquitto would drop to user "mosquitto", which cannot read this test's files.
    const file = join(dir, 'mosquitto.conf');
    writeFileSync(file, conf + (process.getuid?.() === 0 ? `\nuser ${userInfo().username}\n` : ''));
    mosquitto = child('mosquitto', ['-c', file]);
    let spawnError = '';
    mosquitto.proc.once('error', (err) => (spawnError = `cannot run mosquitto (apt-get install mosquitto): ${err.message}`));
    const test = compose.services.mosquitto!.healthcheck!.test;
    const check = () => healthcheck(test, (s) => s.replace('-p 1883', `-p ${mqttPort}`), compose.services.mosquitto!.environment);
    await eventually(async () => ((await check()) === 0 ? true : undefined), 15_000, 'the Mosquitto health check').catch((err: Error) => {
      throw new Error(`${err.message}; ${spawnError} mosquitto: ${mosquitto!.output()}`);
    });

    // The TLS listener: a client that trusts the CA gets in, one that does not is refused.
    const tls = (ca?: Buffer) =>
      new Promise<string>((resolve) => {
        const c = mqtt.connect(`mqtts://localhost:${tlsPort}`, { username: 'admin', password: dynsecPassword, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...(ca && { ca }) });
        c.once('connect', () => resolve('connected'));
        c.once('error', (err) => resolve(err.message));
        c.once('close', () => resolve('closed'));
      }).finally(() => undefined);
    expect(await tls(readFileSync(join(certs, 'ca.crt')))).toBe('connected');
    expect(await tls()).toMatch(/self[- ]signed certificate in certificate chain/);
  });

  it("PostgreSQL answers the compose stack's health check", async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN });
    await c.connect();
    database = `cityedge_stack_${randomBytes(5).toString('hex')}`;
    await c.query(`CREATE DATABASE ${database}`);
    await c.end();
    const host = new URL(PG_ADMIN);
    expect(await healthcheck(compose.services.postgres!.healthcheck!.test, (s) => s.replace('-h 127.0.0.1', `-h ${host.hostname} -p ${host.port || 5432}`))).toBe(0);
  });

  it('the registry runs with the compose command and environment and tells gateways the public mqtts URL', async () => {
    const svc = compose.services.registry!;
    const port = await freePort();
    registryUrl = `http://127.0.0.1:${port}`;
    const pgUrl = new URL(PG_ADMIN);
    pgUrl.pathname = `/${database}`;
    const args = svc
      .command!.map((a) =>
        a
          .replace('--host=0.0.0.0', '--host=127.0.0.1')
          .replace(/^--data-dir=.*/, `--data-dir=${join(dir, 'registry-data')}`)
          .replace('mqtt://mosquitto:1883', `mqtt://127.0.0.1:${mqttPort}`)
          .replace(/^--public-url=.*/, `--public-url=${registryUrl}`),
      )
      .concat(`--port=${port}`, '--log-level=warn');
    const gatewayBrokerUrl = `mqtts://localhost:${tlsPort}`;
    registry = child(process.execPath, [join(REGISTRY_BUILD, 'cityedge-registry.js'), ...args], {
      ...svc.environment,
      REGISTRY_DATABASE_URL: pgUrl.toString(),
      REGISTRY_GATEWAY_BROKER_URL: gatewayBrokerUrl,
      REGISTRY_ADMIN_TOKEN: ADMIN,
    });
    const health = () => healthcheck(svc.healthcheck!.test, (s) => s.replace('127.0.0.1:8780', `127.0.0.1:${port}`));
    await eventually(async () => ((await health()) === 0 ? true : undefined), 30_000, 'the registry health check').catch((err: Error) => {
      throw new Error(`${err.message}; registry: ${registry!.output()}`);
    });

    sim = await startSimulation({ endpoints: [{ id: 'bus', transport: 'tcp', devices: [{ id: 'climate', model: 'sht20', unitId: 1 }] }] }, { logger: quiet });
    sim.device('climate').setValue('temperature', 27.5);
    const api = new RegistryClient({ baseUrl: registryUrl, token: ADMIN });
    const { enrollment } = await api.createGateway({ id: GW });
    await api.putLine(GW, 'bus', { type: 'tcp', host: '127.0.0.1', port: sim.endpoint('bus').port! });
    await api.addDevice(GW, { id: 'climate', lineId: 'bus', profile: 'sht20', unitId: 1, pollIntervalMs: 500 });

    // The real agent CLI enrolls: the identity names the public broker URL, not the internal one.
    const stateDir = tempDir('cityedge-stack-gw-');
    await run(process.execPath, [AGENT_BUILD, 'enroll', '--registry', registryUrl, '--code', enrollment.code, '--state-dir', stateDir]);
    const identity = JSON.parse(readFileSync(join(stateDir, 'identity.json'), 'utf8')) as { mqtt: { url: string } };
    expect(identity.mqtt.url).toBe(gatewayBrokerUrl);
    const preview = (await api.request<{ document: { forwarding: { brokerUrl: string } } }>('GET', `/v1/gateways/${GW}/config/preview`)).document;
    expect(preview.forwarding.brokerUrl).toBe(gatewayBrokerUrl);

    // It trusts the private CA the way the README says (NODE_EXTRA_CA_CERTS), and works over TLS.
    agent = child(process.execPath, [AGENT_BUILD, 'run', '--state-dir', stateDir, '--log-level', 'warn'], { NODE_EXTRA_CA_CERTS: join(certs, 'ca.crt') });
    const pushed = await api.pushConfig(GW, 'central stack test');
    // Applied: verified and running (it commits after the default 60 s health window).
    await eventually(async () => (['applied', 'committed'].includes((await api.getConfig(GW, pushed.version)).state) ? true : undefined), 30_000, 'the configuration applied over mqtts').catch((err: Error) => {
      throw new Error(`${err.message}; agent: ${agent!.output()}; registry: ${registry!.output()}`);
    });
    const readings = await eventually(
      async () => {
        const r = await api.request<{ readings: Array<{ v: number | null }> }>('GET', `/v1/gateways/${GW}/readings`, undefined, { device: 'climate', point: 'temperature', limit: '1' });
        return r.readings.length > 0 ? r.readings : undefined;
      },
      20_000,
      'telemetry ingested through Mosquitto',
    );
    expect(readings[0]!.v).toBe(27.5);
  });
});
