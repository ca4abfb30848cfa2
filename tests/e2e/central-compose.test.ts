import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, listen, parseRegistryArgs, REGISTRY_USAGE, type OpenedRegistry } from '@cityedge/device-registry';
import { CENTRAL_DIR, interpolate, interpolatedNames, loadCompose, readEnvFile, type ComposeFile } from '../support/compose.js';
import { quiet, tempDir } from '../support/fixtures.js';

const ENV_EXAMPLE = readEnvFile(`${CENTRAL_DIR}/central.env.example`);
const DOCKERFILE = readFileSync(`${CENTRAL_DIR}/Dockerfile`, 'utf8');

/** The variables the registry reads, as its --help lists them (plus systemd's STATE_DIRECTORY). */
const REGISTRY_ENV = new Set([...REGISTRY_USAGE.slice(REGISTRY_USAGE.indexOf('environment:')).matchAll(/^ {2}([A-Z][A-Z0-9_]+)\s/gm)].map((m) => m[1]!));

/**
 * No container engine runs here, so the compose stack is checked against what it drives: the
 * registry's own option parser, its Dockerfile, and (tests/integration/central-stack.test.ts)
 * the same Mosquitto configuration, certificates and health checks run directly.
 */
describe('central compose stack (deploy/central)', () => {
  let compose: ComposeFile;
  let raw: string;

  beforeAll(() => {
    ({ compose, raw } = loadCompose(ENV_EXAMPLE));
  });

  it('every variable it needs is in central.env.example, and a missing one stops compose with its name', () => {
    expect(interpolatedNames(raw).filter((n) => !(n in ENV_EXAMPLE))).toEqual([]);
    const { GATEWAY_BROKER_URL: _omitted, ...without } = ENV_EXAMPLE;
    expect(() => interpolate(raw, without)).toThrow(/GATEWAY_BROKER_URL: set GATEWAY_BROKER_URL in central.env/);
  });

  it('every long-running service has a health check; one-shots are awaited to completion', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.restart === 'no') {
        const waiters = Object.values(compose.services).filter((o) => o.depends_on?.[name]?.condition === 'service_completed_successfully');
        expect(waiters.length, `${name} is awaited`).toBeGreaterThan(0);
        continue;
      }
      expect(s.healthcheck?.test?.length, `${name} has a health check`).toBeGreaterThan(0);
      expect(s.restart, name).toBe('unless-stopped');
    }
    // The registry starts only once its database and broker answer.
    expect(compose.services.registry!.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, mosquitto: { condition: 'service_healthy' } });
  });

  it("the registry's environment is what it reads, and its command parses: gateways get the public mqtts URL, the registry the internal one", () => {
    const reg = compose.services.registry!;
    const env = reg.environment!;
    expect(Object.keys(env).filter((k) => !REGISTRY_ENV.has(k))).toEqual([]);
    const parsed = parseRegistryArgs(reg.command!, env);
    if (!parsed.ok || parsed.help) throw new Error(`the compose command does not parse: ${JSON.stringify(parsed)}`);
    const o = parsed.options;
    expect(o.broker).toBe('mosquitto');
    expect(o.brokerUrl).toBe('mqtt://mosquitto:1883');
    expect(o.gatewayBrokerUrl).toBe(ENV_EXAMPLE.GATEWAY_BROKER_URL);
    expect(o.gatewayBrokerUrl).toMatch(/^mqtts:\/\//);
    expect(o.gatewayBrokerUrl).not.toBe(o.brokerUrl);
    expect(o.databaseUrl).toMatch(/^postgres:\/\/registry:.+@postgres:5432\/registry$/);
    expect(o.publicUrl).toBe(ENV_EXAMPLE.REGISTRY_PUBLIC_URL);
    expect(o.host).toBe('0.0.0.0');
    // The data directory is the named volume, and the image makes it the node user's.
    expect(reg.volumes).toContain(`registry-data:${o.dataDir}`);
    expect('registry-data' in compose.volumes).toBe(true);
    expect(DOCKERFILE).toContain(`RUN mkdir -p ${o.dataDir} && chown node:node ${o.dataDir}`);
    expect(DOCKERFILE.indexOf('chown node:node')).toBeLessThan(DOCKERFILE.lastIndexOf('USER node'));
    expect(DOCKERFILE).toMatch(/^VOLUME \/var\/lib\/cityedge-registry$/m);
    // The published broker port is the TLS listener the gateway URL names.
    expect(compose.services.mosquitto!.ports).toContain(`${new URL(o.gatewayBrokerUrl!).port}:8883`);
  });

  it('the image installs exactly the lock file (npm ci) and carries the key backup script', () => {
    expect(DOCKERFILE).toMatch(/^RUN npm ci\b/m);
    expect(DOCKERFILE).not.toMatch(/npm install/);
    expect(DOCKERFILE).toContain('deploy/central/registry-keys.sh');
  });

  it("Mosquitto's TLS files are where make-broker-cert.sh writes them", () => {
    const conf = readFileSync(`${CENTRAL_DIR}/mosquitto/cityedge.conf`, 'utf8');
    expect(compose.services.mosquitto!.volumes).toContain('./certs:/mosquitto/certs:ro');
    expect(conf).toMatch(/^certfile \/mosquitto\/certs\/broker\.crt$/m);
    expect(conf).toMatch(/^keyfile \/mosquitto\/certs\/broker\.key$/m);
    const script = readFileSync(`${CENTRAL_DIR}/make-broker-cert.sh`, 'utf8');
    expect(script).toContain('dir="$(cd "$(dirname "$0")" && pwd)/certs"');
    expect(script).toContain('"$dir/broker.crt"');
    expect(script).toContain('"$dir/broker.key"');
  });

  describe("the registry's health check command", () => {
    let registry: OpenedRegistry;
    let port: number;
    beforeAll(async () => {
      registry = await openRegistry({ dataDir: tempDir('cityedge-compose-'), brokerInfo: { url: 'mqtt://127.0.0.1:1883' }, logger: quiet });
      port = Number(new URL(await listen(registry.app, { host: '127.0.0.1', port: 0 })).port);
    });
    afterAll(async () => registry?.close());

    it('passes against a running registry and fails against none', async () => {
      const [cmd, ...args] = compose.services.registry!.healthcheck!.test;
      expect(cmd).toBe('CMD');
      // Asynchronous: the registry answering it runs in this process.
      const check = (p: number) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(args[0] === 'node' ? process.execPath : args[0]!, args.slice(1).map((a) => a.replace('127.0.0.1:8780', `127.0.0.1:${p}`)), { stdio: 'ignore', timeout: 15_000 });
          child.once('exit', (code) => resolve(code));
        });
      expect(await check(port)).toBe(0);
      await registry.close();
      expect(await check(port)).toBe(1);
      // The Dockerfile's own HEALTHCHECK is the same command.
      expect(DOCKERFILE).toContain(args.slice(2).join(' '));
    });
  });
});
