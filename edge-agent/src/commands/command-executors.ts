import { CommandError, type CommandArgsOf, type CommandName, type Reading } from '@cityedge/contract';
import type { SerialPortInfo } from '@cityedge/drivers';
import type { CameraStatusEntry } from '@cityedge/contract';
import { DirectoryError, type DeviceDirectory } from '../runtime/device-directory.js';
import { scanLine, type ScanLine } from '../poll/line-scan.js';
import type { RuleCommandResult, LightingOverrideRequest } from '../rules/index.js';

/** What commands act on; the runtime gives the parts running now. */
export interface CommandTargets {
  directory: DeviceDirectory;
  line(id: string): ScanLine | undefined;
  probeCamera(id: string): Promise<CameraStatusEntry | undefined> | undefined;
  rules(): { acknowledge(key: string, actor: string): RuleCommandResult; overrideLighting(req: LightingOverrideRequest, actor: string): RuleCommandResult } | undefined;
  logTail(lines: number): string[];
  listSerialPorts(): Promise<SerialPortInfo[]>;
  /** Stops the agent cleanly after the answer is in the outbox (systemd starts it again). */
  restart(reason: string): void;
  now(): number;
}

export interface ExecutionContext {
  actor: string;
  progress(p: { done: number; total: number; message?: string }, partial?: unknown): void;
}

type Executor<N extends CommandName> = (args: CommandArgsOf<N>, t: CommandTargets, x: ExecutionContext) => Promise<unknown>;

/** A value read back equal to the one written, allowing for the register's resolution. */
function sameValue(written: number | boolean, read: Reading['v']): boolean {
  if (typeof written === 'boolean' || typeof read === 'boolean') return written === read;
  if (typeof read !== 'number') return false;
  return Math.abs(read - written) <= Math.max(1e-6, Math.abs(written) * 1e-3);
}

function fromRules(r: RuleCommandResult): unknown {
  if (r.ok) return r.result;
  throw new DirectoryError(r.code, r.message);
}

/** One function per command name; each returns the result or throws a coded error. */
export const EXECUTORS: { [N in CommandName]: Executor<N> } = {
  async 'point.write'(a, t) {
    await t.directory.write(a.dev, a.pt, a.value);
    if (!a.confirm) return { dev: a.dev, pt: a.pt, written: a.value, confirmed: false };
    const readBack = (await t.directory.readNow(a.dev)).find((r) => r.pt === a.pt);
    if (!readBack || readBack.q !== 'good' || !sameValue(a.value, readBack.v)) {
      const got = readBack ? (readBack.q === 'good' ? JSON.stringify(readBack.v) : `bad (${readBack.err})`) : 'nothing';
      throw new DirectoryError(CommandError.notConfirmed, `${a.dev}.${a.pt}: wrote ${JSON.stringify(a.value)}, read back ${got}`);
    }
    return { dev: a.dev, pt: a.pt, written: a.value, readBack: readBack.v, ...(readBack.u !== undefined && { unit: readBack.u }), confirmed: true };
  },

  async 'device.read'(a, t) {
    const readings = await t.directory.readNow(a.dev);
    return { dev: a.dev, readings };
  },

  async 'line.scan'(a, t, x) {
    const line = t.line(a.line);
    if (!line) throw new DirectoryError(CommandError.unknownTarget, `no Modbus line "${a.line}" on this gateway`);
    if (a.from > a.to) throw new DirectoryError(CommandError.badArgs, `args.from (${a.from}) is after args.to (${a.to})`);
    if (a.baudRates && a.baudRates.length > 0 && line.config.type !== 'rtu') throw new DirectoryError(CommandError.badArgs, `args.baudRates: line "${a.line}" is ${line.config.type}, not a serial line`);
    return scanLine(line, {
      from: a.from,
      to: a.to,
      baudRates: a.baudRates,
      timeoutMs: a.timeoutMs,
      deadlineMs: a.deadlineMs,
      now: t.now,
      progress: (p) => x.progress({ done: p.done, total: p.total, message: `${p.found.length} found` }, { found: p.found }),
    });
  },

  async 'serial.list'(_a, t) {
    return { ports: await t.listSerialPorts() };
  },

  async 'camera.probe'(a, t) {
    const probing = t.probeCamera(a.camera);
    const status = probing && (await probing);
    if (!status) throw new DirectoryError(CommandError.unknownTarget, `no camera "${a.camera}" on this gateway`);
    return status;
  },

  async 'logs.tail'(a, t) {
    return { lines: t.logTail(a.lines) };
  },

  async 'agent.restart'(_a, t, x) {
    t.restart(`restart requested by ${x.actor}`);
    return { restartingAt: t.now() };
  },

  async 'alarm.ack'(a, t, x) {
    const rules = t.rules();
    if (!rules) throw new DirectoryError(CommandError.unknownTarget, 'this gateway runs no rules');
    return fromRules(rules.acknowledge(a.key, x.actor));
  },

  async 'lighting.override'(a, t, x) {
    const rules = t.rules();
    if (!rules) throw new DirectoryError(CommandError.unknownTarget, 'this gateway runs no rules');
    return fromRules(rules.overrideLighting(a as LightingOverrideRequest, x.actor));
  },
};
