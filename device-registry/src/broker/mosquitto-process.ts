import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BrokerError } from './errors.js';
import type { MqttConnection } from './mqtt-connection.js';

const run = promisify(execFile);

/** Where Debian, Ubuntu, Alpine and source builds put the dynamic-security plugin. */
export const DYNSEC_PLUGIN_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/arm-linux-gnueabihf/mosquitto_dynamic_security.so',
  '/usr/lib/mosquitto_dynamic_security.so',
  '/usr/local/lib/mosquitto_dynamic_security.so',
];

export function findDynsecPlugin(candidates: readonly string[] = DYNSEC_PLUGIN_CANDIDATES): string | undefined {
  return candidates.find((p) => existsSync(p));
}

export interface MosquittoConfigInput {
  port: number;
  /** Default: all interfaces. */
  host?: string;
  pluginPath: string;
  dynsecFile: string;
  /** Debian's default is 1000 and Mosquitto drops silently past it; default here 100000. */
  maxQueuedMessages?: number;
  /** Keep retained configs and sessions across restarts (default true, in `persistenceLocation`). */
  persistenceLocation?: string;
  /** TLS listener files; without them the listener is plain TCP. */
  tls?: { certfile: string; keyfile: string; cafile?: string };
}

/** The mosquitto.conf that runs the broker with the dynamic-security plugin and no anonymous access. */
export function mosquittoDynsecConfig(c: MosquittoConfigInput): string {
  return [
    '# cityedge: Mosquitto 2.x with the dynamic-security plugin (docs/brokers.md)',
    'per_listener_settings false',
    'allow_anonymous false',
    `listener ${c.port}${c.host ? ` ${c.host}` : ''}`,
    ...(c.tls ? [`certfile ${c.tls.certfile}`, `keyfile ${c.tls.keyfile}`, ...(c.tls.cafile ? [`cafile ${c.tls.cafile}`] : [])] : []),
    `plugin ${c.pluginPath}`,
    `plugin_opt_config_file ${c.dynsecFile}`,
    '# Debian drops QoS 1 messages silently past 1000 queued per client: raise it.',
    `max_queued_messages ${c.maxQueuedMessages ?? 100_000}`,
    '# Without it every dynamic-security answer waits ~40 ms for a delayed ACK (Nagle).',
    'set_tcp_nodelay true',
    ...(c.persistenceLocation ? ['persistence true', `persistence_location ${c.persistenceLocation}`] : ['persistence false']),
    '',
  ].join('\n');
}

export interface MosquittoDynsecProcessOptions {
  /** Working directory (config, dynsec.json); a fresh temp dir by default. */
  dir?: string;
  /** 0 or unset: a free loopback port. Never 1883, which the system broker holds. */
  port?: number;
  adminUsername?: string;
  adminPassword?: string;
  pluginPath?: string;
  /** Appended to the generated config, e.g. `log_type all\nlog_dest stdout`. */
  extraConfig?: string;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A private Mosquitto with the dynamic-security plugin on a loopback port, for tests, the demo
 * and the benchmark: a fresh dynsec.json made by `mosquitto_ctrl dynsec init <file> <admin>
 * <password>`, then `mosquitto -c`. Fails loudly (REG_BROKER_UNAVAILABLE) when mosquitto,
 * mosquitto_ctrl or the plugin is missing; it never skips.
 */
export class MosquittoDynsecProcess {
  private proc: ChildProcess | undefined;
  private readonly ownsDir: boolean;
  readonly dir: string;
  readonly adminUsername: string;
  readonly adminPassword: string;
  port: number;
  output = '';

  constructor(private readonly opts: MosquittoDynsecProcessOptions = {}) {
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cityedge-dynsec-'));
    this.ownsDir = !opts.dir;
    this.adminUsername = opts.adminUsername ?? 'admin';
    this.adminPassword = opts.adminPassword ?? randomBytes(18).toString('base64url');
    this.port = opts.port ?? 0;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get dynsecFile(): string {
    return join(this.dir, 'dynamic-security.json');
  }

  /** The dynsec admin login, for DynsecClient. */
  adminConnection(): MqttConnection {
    return { url: this.url, username: this.adminUsername, password: this.adminPassword, protocolVersion: 5 };
  }

  async start(): Promise<this> {
    const pluginPath = this.opts.pluginPath ?? findDynsecPlugin();
    if (!pluginPath) throw new BrokerError('REG_BROKER_UNAVAILABLE', `mosquitto dynamic-security plugin not found (looked in ${DYNSEC_PLUGIN_CANDIDATES.join(', ')}); install mosquitto 2.x`);
    if (!existsSync(this.dynsecFile)) {
      try {
        await run('mosquitto_ctrl', ['dynsec', 'init', this.dynsecFile, this.adminUsername, this.adminPassword]);
        chmodSync(this.dynsecFile, 0o600); // it holds password hashes; mosquitto_ctrl leaves it world-readable
      } catch (err) {
        throw new BrokerError('REG_BROKER_UNAVAILABLE', `mosquitto_ctrl dynsec init failed (install mosquitto-clients / mosquitto 2.x): ${(err as Error).message}`, { cause: err });
      }
    }
    if (!this.port) this.port = await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    // Run as root, mosquitto drops to user "mosquitto", which cannot write our temp dir: stay the current user.
    const user = process.getuid?.() === 0 ? `user ${userInfo().username}\n` : '';
    writeFileSync(conf, mosquittoDynsecConfig({ port: this.port, host: '127.0.0.1', pluginPath, dynsecFile: this.dynsecFile }) + user + (this.opts.extraConfig ?? '') + '\n', { mode: 0o600 });
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new BrokerError('REG_BROKER_UNAVAILABLE', `cannot run mosquitto (apt-get install mosquitto): ${err.message}`, { cause: err })));
      proc.once('exit', (code) => reject(new BrokerError('REG_BROKER_UNAVAILABLE', `mosquitto exited with ${code}: ${this.output}`)));
    });
    failed.catch(() => undefined);
    await Promise.race([failed, this.waitListening()]);
    return this;
  }

  /** Stops the broker (SIGTERM, SIGKILL after 3 s); the directory stays, so start() can bring it back. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the broker and deletes the directory when it is the temp dir this object made. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitListening(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (!this.proc || this.proc.exitCode !== null) return;
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(this.port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new BrokerError('REG_BROKER_UNAVAILABLE', `mosquitto did not listen on ${this.port}: ${this.output}`);
  }
}
