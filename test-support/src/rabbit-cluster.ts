import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './wait.js';

const run = promisify(execFile);

/** The Debian package's scripts, run directly (not the /usr/sbin wrappers, which switch to the rabbitmq user). */
const RABBIT_BIN = process.env.RABBITMQ_BIN_DIR ?? '/usr/lib/rabbitmq/bin';

/** How the cluster authenticates MQTT and AMQP clients. */
export type RabbitAuth =
  /** Only the internal user database, with one administrator (`user`/`password` of the cluster). */
  | { kind: 'internal' }
  /**
   * The internal administrator first, then rabbitmq_auth_backend_http (POSTs to `baseUrl` +
   * /user, /vhost, /resource, /topic) behind rabbitmq_auth_backend_cache.
   */
  | { kind: 'http'; baseUrl: string; cacheTtlMs?: number };

export interface RabbitClusterOptions {
  /** Number of nodes (3). */
  nodes?: number;
  /** Where data, logs and configuration go (a fresh temp dir). */
  dir?: string;
  auth?: RabbitAuth;
  /** Extra rabbitmq.conf lines for every node. */
  extraConfig?: string;
  /** Node names are `<prefix>-<i>@localhost`; the default prefix is random so clusters of parallel runs never meet. */
  namePrefix?: string;
}

export interface RabbitNode {
  index: number;
  /** Erlang node name, e.g. `ce3fa1-1@localhost`. */
  name: string;
  amqpPort: number;
  mqttPort: number;
  distPort: number;
  mqttUrl: string;
  amqpUrl: string;
  /** Data directory (RABBITMQ_MNESIA_BASE). */
  dataDir: string;
  /** The process group of the node's start script, while it runs. */
  proc?: ChildProcess;
  /** Tail of the node's output (the full log is in `<dir>/node-<i>.log`). */
  output: string;
}

/**
 * A RabbitMQ 3.10 cluster of real Debian `rabbitmq-server` nodes on loopback, for tests, the
 * benchmark and `scripts/province-cluster.ts`. Every node has its own name, data and log
 * directories, AMQP, MQTT and distribution ports (all bound to 127.0.0.1), and the nodes share
 * one Erlang cookie through HOME=<dir>. The machine's own RabbitMQ and epmd are shared, never
 * touched. Node 1 starts first; the others join it by classic-config peer discovery on first
 * boot and rejoin from their data directory on a restart. Fails loudly when RabbitMQ is missing.
 */
export class RabbitCluster {
  readonly dir: string;
  readonly nodes: RabbitNode[] = [];
  readonly user = 'cityedge-admin';
  readonly password = randomBytes(12).toString('hex');
  /** Wall time of the last `start()`, ms. */
  startupMs = 0;
  private readonly cookie = randomBytes(16).toString('hex').toUpperCase();
  private readonly prefix: string;
  private readonly count: number;
  private readonly logs = new Map<number, WriteStream>();
  /** How clients authenticate; may be set after `allocate()` (the registry's auth URL may need the node URLs first). */
  auth: RabbitAuth;

  constructor(private readonly options: RabbitClusterOptions = {}) {
    this.auth = options.auth ?? { kind: 'internal' };
    this.dir = options.dir ?? join(tmpdir(), `cityedge-rabbit-${randomBytes(4).toString('hex')}`);
    this.prefix = options.namePrefix ?? `ce${randomBytes(3).toString('hex')}`;
    this.count = options.nodes ?? 3;
  }

  get mqttUrls(): string[] {
    return this.nodes.map((n) => n.mqttUrl);
  }

  /** AMQP URLs with the administrator's credentials (vhost `/`). */
  get amqpUrls(): string[] {
    return this.nodes.map((n) => n.amqpUrl);
  }

  /** Chooses node names and free ports (once) without starting anything, so the URLs are known. */
  async allocate(): Promise<this> {
    if (this.nodes.length) return this;
    for (let i = 0; i < this.count; i++) {
      const [amqpPort, mqttPort, distPort] = [await freePort(), await freePort(), await freePort()];
      const name = `${this.prefix}-${i + 1}@localhost`;
      this.nodes.push({
        index: i,
        name,
        amqpPort,
        mqttPort,
        distPort,
        mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
        amqpUrl: `amqp://${this.user}:${this.password}@127.0.0.1:${amqpPort}`,
        dataDir: join(this.dir, `node-${i + 1}`),
        output: '',
      });
    }
    return this;
  }

  async start(): Promise<this> {
    const t0 = Date.now();
    await this.allocate();
    mkdirSync(this.dir, { recursive: true });
    const cookie = join(this.dir, '.erlang.cookie');
    if (!existsSync(cookie)) {
      writeFileSync(cookie, this.cookie);
      chmodSync(cookie, 0o400);
    }
    writeFileSync(join(this.dir, 'rabbitmq-env.conf'), '# empty: keeps /etc/rabbitmq/rabbitmq-env.conf out\n');
    const plugins = ['rabbitmq_mqtt', ...(this.auth.kind === 'http' ? ['rabbitmq_auth_backend_http', 'rabbitmq_auth_backend_cache'] : [])];
    writeFileSync(join(this.dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
    for (const n of this.nodes) this.writeConfig(n);
    await this.startNode(0);
    await Promise.all(this.nodes.slice(1).map((n) => this.startNode(n.index)));
    this.startupMs = Date.now() - t0;
    return this;
  }

  /** rabbitmq.conf for one node: loopback listeners, peers, MQTT with quorum queues, auth. */
  private writeConfig(n: RabbitNode): void {
    const auth = this.auth;
    const lines = [
      `listeners.tcp.1 = 127.0.0.1:${n.amqpPort}`,
      `mqtt.listeners.tcp.1 = 127.0.0.1:${n.mqttPort}`,
      'distribution.listener.interface = 127.0.0.1',
      `distribution.listener.port_range.min = ${n.distPort}`,
      `distribution.listener.port_range.max = ${n.distPort}`,
      'cluster_formation.peer_discovery_backend = classic_config',
      `cluster_formation.classic_config.nodes.1 = ${this.nodes[0]!.name}`,
      'mqtt.allow_anonymous = false',
      'mqtt.vhost = /',
      'mqtt.exchange = amq.topic',
      'mqtt.durable_queue_type = quorum',
      'loopback_users = none',
      `default_user = ${this.user}`,
      `default_pass = ${this.password}`,
      'default_user_tags.administrator = true',
      'vm_memory_high_watermark.relative = 0.2',
      'disk_free_limit.absolute = 50MB',
      'auth_backends.1 = internal',
    ];
    if (auth.kind === 'http') {
      const base = auth.baseUrl.replace(/\/$/, '');
      lines.push(
        'auth_backends.2 = cache',
        'auth_cache.cached_backend = http',
        `auth_cache.cache_ttl = ${auth.cacheTtlMs ?? 5000}`,
        'auth_http.http_method = post',
        `auth_http.user_path = ${base}/user`,
        `auth_http.vhost_path = ${base}/vhost`,
        `auth_http.resource_path = ${base}/resource`,
        `auth_http.topic_path = ${base}/topic`,
      );
    }
    if (this.options.extraConfig) lines.push(this.options.extraConfig);
    writeFileSync(join(this.dir, `node-${n.index + 1}.conf`), lines.join('\n') + '\n');
  }

  /** The environment of the server scripts and rabbitmqctl for one node. */
  private env(n: RabbitNode): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      HOME: this.dir,
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_CONF_ENV_FILE: join(this.dir, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: n.name,
      RABBITMQ_MNESIA_BASE: n.dataDir,
      RABBITMQ_LOG_BASE: join(this.dir, `log-${n.index + 1}`),
      RABBITMQ_LOGS: '-',
      RABBITMQ_CONFIG_FILE: join(this.dir, `node-${n.index + 1}.conf`),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(this.dir, `node-${n.index + 1}.pid`),
      RABBITMQ_DIST_PORT: String(n.distPort),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  /** Starts (or restarts) node `i` and resolves when its MQTT and AMQP listeners accept. */
  async startNode(i: number, timeoutMs = 180_000): Promise<void> {
    const n = this.node(i);
    if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) throw new Error(`${n.name} is already running`);
    let log = this.logs.get(i);
    if (!log) {
      log = createWriteStream(join(this.dir, `node-${i + 1}.log`), { flags: 'a' });
      this.logs.set(i, log);
    }
    n.output = '';
    const proc = spawn(join(RABBIT_BIN, 'rabbitmq-server'), [], { env: this.env(n), cwd: this.dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    n.proc = proc;
    const collect = (d: Buffer): void => {
      log.write(d);
      n.output = (n.output + d.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`cannot run ${RABBIT_BIN}/rabbitmq-server (install it: apt-get install rabbitmq-server): ${err.message}`)));
      proc.once('exit', (code, signal) => reject(new Error(`${n.name} exited (${code ?? signal}) during start-up: ${n.output.slice(-4000)}`)));
    });
    failed.catch(() => undefined);
    await Promise.race([failed, this.waitListening(n, timeoutMs)]);
  }

  private async waitListening(n: RabbitNode, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const port of [n.mqttPort, n.amqpPort]) {
      while (!(await canConnect(port))) {
        if (Date.now() > deadline) throw new Error(`${n.name} did not listen on ${port} within ${timeoutMs} ms: ${n.output.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  node(i: number): RabbitNode {
    const n = this.nodes[i];
    if (!n) throw new Error(`no node ${i} (the cluster has ${this.nodes.length})`);
    return n;
  }

  /** The operating-system pid of node `i`'s Erlang VM (from its pid file), if it runs. */
  pid(i: number): number | undefined {
    const f = join(this.dir, `node-${i + 1}.pid`);
    if (!existsSync(f) || !this.isRunning(i)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  isRunning(i: number): boolean {
    const p = this.node(i).proc;
    return !!p && p.exitCode === null && p.signalCode === null;
  }

  /** kill -9 of node `i` (its whole process group); resolves when it is gone. */
  async kill(i: number): Promise<void> {
    const n = this.node(i);
    const p = n.proc;
    if (!p || !this.isRunning(i)) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await exited;
    // The VM may outlive the script by a moment; wait until its listeners are closed.
    while (await canConnect(n.mqttPort)) await new Promise((r) => setTimeout(r, 100));
  }

  /** Runs rabbitmqctl (or another CLI tool) against node `i`; resolves with stdout. */
  async ctl(i: number, args: string[], tool = 'rabbitmqctl'): Promise<string> {
    const n = this.node(i);
    const { stdout } = await run(join(RABBIT_BIN, tool), ['-n', n.name, ...args], { env: this.env(n), cwd: this.dir, timeout: 120_000 });
    return stdout;
  }

  /** Names of the cluster's running nodes as node `i` sees them. */
  async runningNodes(i = 0): Promise<string[]> {
    const out = await this.ctl(i, ['cluster_status', '--formatter', 'json']);
    return (JSON.parse(out) as { running_nodes: string[] }).running_nodes;
  }

  /** Stops every node (kill -9: the tests need no graceful shutdown) and removes the directory unless `keep`. */
  async stop(keep = false): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.index)));
    for (const l of this.logs.values()) l.end();
    this.logs.clear();
    if (!keep) rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
