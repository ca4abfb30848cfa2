import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from '../../tsup.config.js';
import { eventually, tempDir } from '../support/fixtures.js';

/** The demo and edgectl as `npm run build` makes them, in a directory of their own: `dist/...` as the demo prints. */
const ROOT = resolve('tests/.build/demo');
const DEMO = join(ROOT, 'dist', 'demo.js');
const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

interface Proc {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** A process in a group of its own (npx starts children): stopped as a group, by its id. */
function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  let out = '';
  let err = '';
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, stdout: () => out, stderr: () => err, exit };
}

async function stopGroup(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  try {
    process.kill(-p.proc.pid!, signal);
  } catch {
    return;
  }
  await p.exit;
}

/** Processes whose command line names `text` (the demo's own directory): socat, and anything else it started. */
function processesNaming(text: string): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(text)) found.push({ pid: Number(entry), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const demoEnv = (dir: string) => ({ DEMO_DIR: dir, DEMO_REGISTRY_PORT: '0', DEMO_MQTT_PORT: '0', DEMO_HTTP_PORT: '0', LOG_LEVEL: 'error' });

describe('npm run demo', () => {
  beforeAll(async () => {
    await build({ ...bundleOptions, config: false, entry: { demo: 'scripts/demo.ts', edgectl: 'device-registry/src/cli/edgectl.ts' }, outDir: join(ROOT, 'dist'), sourcemap: false });
  }, 120_000);

  it('--help prints help and exits 0 without starting anything; a bad flag or port is exit 2', async () => {
    const dir = join(tempDir('cityedge-demo-help-'), 'never');
    const help = start(process.execPath, [DEMO, '--help'], demoEnv(dir));
    expect(await help.exit).toBe(0);
    expect(help.stdout()).toMatch(/^usage: node dist\/demo\.js/);
    expect(help.stdout()).toContain('DEMO_REGISTRY_PORT');
    expect(existsSync(dir)).toBe(false);
    const bad = start(process.execPath, [DEMO, '--colour'], demoEnv(dir));
    expect(await bad.exit).toBe(2);
    expect(bad.stderr()).toMatch(/^demo: Unknown option '--colour'/);
    const port = start(process.execPath, [DEMO], { ...demoEnv(dir), DEMO_MQTT_PORT: 'x' });
    expect(await port.exit).toBe(2);
    expect(port.stderr()).toBe('demo: DEMO_MQTT_PORT: expected a port 0..65535, got "x"\n');
    expect(existsSync(dir)).toBe(false);
  });

  describe('what it prints to try', () => {
    const dir = tempDir('cityedge-demo-');
    let demo: Proc;
    let tryLines: string[] = [];
    const running: Proc[] = [];

    beforeAll(async () => {
      demo = start(process.execPath, [DEMO], demoEnv(dir));
      await eventually(async () => (/\ntry:\n[\s\S]*?\n\n/.test(demo.stdout()) ? true : undefined), 60_000, 'the demo to print what to try').catch((err: Error) => {
        throw new Error(`${err.message}; stdout: ${demo.stdout()}; stderr: ${demo.stderr()}`);
      });
      tryLines = /\ntry:\n([\s\S]*?)\n\n/.exec(demo.stdout())![1]!.split('\n').map((l) => l.trim());
    }, 90_000);

    afterAll(async () => {
      for (const p of running) await stopGroup(p, 'SIGKILL');
      await stopGroup(demo, 'SIGINT');
    });

    /** Runs one printed line in a shell, after the printed `export` line (as a person would). */
    const shell = (line: string) => start('sh', ['-c', `${tryLines[0]}\n${line}`]);
    const at = (pattern: RegExp) => {
      const line = tryLines.find((l) => pattern.test(l));
      if (!line) throw new Error(`the demo printed no line matching ${pattern}: ${tryLines.join('\n')}`);
      return line;
    };

    it('prints the gateway status server and a working serial line', () => {
      expect(tryLines[0]).toMatch(/^export EDGECTL_REGISTRY=http:\/\/127\.0\.0\.1:\d+ EDGECTL_TOKEN=\S+$/);
      expect(demo.stdout()).toMatch(/status {6}http:\/\/127\.0\.0\.1:\d+\/healthz and http:\/\/127\.0\.0\.1:\d+\/metrics/);
      expect(demo.stdout()).toMatch(/serial {6}\/dev\/pts\/\d+ <-> \S+tty-sim/); // the agent opens the pseudo-terminal itself (serial paths are under \/dev)
    });

    it.each([/^node dist\/edgectl\.js gateway show /, /^node dist\/edgectl\.js config history /, /^node dist\/edgectl\.js gateway create /, /^node dist\/edgectl\.js rules show /, /^node dist\/edgectl\.js alarm list /])('%s works', async (pattern) => {
      const p = shell(at(pattern));
      running.push(p);
      expect(await p.exit, p.stderr()).toBe(0);
      expect(p.stdout().length).toBeGreaterThan(0);
      expect(p.stderr()).toBe('');
    });

    it('the digest shows the rules at work on the fast clock: flood levels, an AQI with its category, lamps changing level', async () => {
      const digest = () => demo.stdout().split('\n').filter((l) => l.startsWith('[sim '));
      const seen = () => {
        const lines = digest();
        const flood = lines.map((l) => / m (BD I{1,3}) \|/.exec(l)?.[1]).filter(Boolean);
        const aqi = lines.map((l) => /VN_AQI (\d+) (tot|trung_binh|kem|xau|rat_xau|nguy_hai) \(EPA \d+\)/.exec(l)).filter(Boolean);
        const lamps = new Set(lines.map((l) => / lamps (\d+) % (schedule|override|light-sensor)/.exec(l)?.[1]).filter(Boolean));
        return flood.length > 0 && aqi.length > 0 && lamps.size >= 2 ? { flood, aqi, lamps } : undefined;
      };
      // a simulated day is 2 minutes: the river floods, hours close, the night's dimming steps pass
      const got = await eventually(async () => seen(), 150_000, 'the digest to show flood levels, an AQI and two lamp levels').catch((err: Error) => {
        throw new Error(`${err.message}; digest: ${digest().slice(-6).join('\n')}; stderr: ${demo.stderr().slice(-500)}`);
      });
      expect(got.flood[0]).toMatch(/^BD I{1,3}$/);
      expect(Number(got.aqi[0]![1])).toBeGreaterThanOrEqual(0);
      expect(got.lamps.size).toBeGreaterThanOrEqual(2);
      // the flood alarm reached central's alarm list with its level
      const alarms = shell(at(/^node dist\/edgectl\.js alarm list /));
      running.push(alarms);
      expect(await alarms.exit, alarms.stderr()).toBe(0);
      expect(alarms.stdout()).toMatch(/flood\.level\/dongha\s+\S+\s+\S+\s+BD_I/);
    }, 180_000);

    it('the readings curl answers JSON readings', async () => {
      const p = shell(at(/^curl .*\/readings\?/));
      running.push(p);
      expect(await p.exit, p.stderr()).toBe(0);
      expect(JSON.parse(p.stdout())).toMatchObject({ gatewayId: 'gw-demo-01', readings: expect.any(Array) });
    });

    it('the console sign-in curl answers the admin user and a CSRF token', async () => {
      const p = shell(at(/^curl .*\/v1\/session/));
      running.push(p);
      expect(await p.exit, p.stderr()).toBe(0);
      expect(JSON.parse(p.stdout())).toMatchObject({ user: { username: 'admin', role: 'admin' }, csrfToken: expect.any(String) });
      expect(demo.stdout()).toMatch(/console {5}sign in as admin with password \S+/);
    });

    it("the gateway's and the registry's /metrics lines find what they grep for", async () => {
      for (const pattern of [/^curl -s http:\/\/127\.0\.0\.1:\d+\/metrics \| grep/, /^curl .*\/metrics \| grep '\^cityedge_registry_ingest'/]) {
        const p = shell(at(pattern));
        running.push(p);
        expect(await p.exit, `${at(pattern)}: ${p.stderr()}`).toBe(0);
        expect(p.stdout()).toMatch(/^cityedge_/m);
      }
    });

    it('the mqtt sub line subscribes (no SUBACK 128) and shows what gateways publish', async () => {
      const p = shell(at(/^npx mqtt sub /));
      running.push(p);
      await eventually(async () => (/^edge\/v1\/gw-demo-01\/(telemetry|status|events) \{/m.test(p.stdout()) ? true : undefined), 45_000, 'messages from the printed mqtt sub').catch((err: Error) => {
        throw new Error(`${err.message}; stdout: ${p.stdout().slice(0, 500)}; stderr: ${p.stderr()}`);
      });
      expect(p.stderr()).not.toMatch(/negated|Error/);
      noStackTrace(p.stderr());
      await stopGroup(p);
    });
  });

  it('a closed output pipe (| head -5) ends the demo and every process it started, socat included', async () => {
    const dir = tempDir('cityedge-demo-pipe-');
    const pipeline = start('sh', ['-c', `node ${DEMO} | head -5`], demoEnv(dir));
    try {
      // socat runs while the demo does (its pseudo-terminal links live in the demo's directory).
      const socat = await eventually(async () => processesNaming(dir).find((p) => p.cmd.startsWith('socat')), 60_000, 'the demo to start socat');
      // The shell returns when both ends of the pipe have exited: the demo must end by itself.
      expect(await pipeline.exit).toBe(0);
      expect(pipeline.stdout().split('\n')).toHaveLength(6); // 5 lines, each ending in a newline
      await eventually(async () => (processesNaming(dir).length === 0 ? true : undefined), 10_000, `no process left naming ${dir} (socat was ${socat.pid})`).catch((err: Error) => {
        throw new Error(`${err.message}: ${JSON.stringify(processesNaming(dir))}`);
      });
      noStackTrace(pipeline.stderr());
    } finally {
      for (const p of processesNaming(dir)) process.kill(p.pid, 'SIGKILL');
      await stopGroup(pipeline, 'SIGKILL');
    }
  }, 120_000);
});
