import type { Logger } from 'pino';
import {
  Channel,
  CommandError,
  commandEventType,
  FINAL_COMMAND_STATES,
  verifyCommand,
  type CommandName,
  type CommandResult,
  type CommandState,
  type GatewayEvent,
} from '@cityedge/contract';
import type { MqttSession } from '../mqtt/mqtt-session.js';
import { CommandLog } from './command-log.js';
import { EXECUTORS, type CommandTargets } from './command-executors.js';

export interface CommandHandlerOptions {
  gatewayId: string;
  /** The registry's public keys (from enrollment): only commands signed with one are executed. */
  trustedKeys: readonly string[];
  session: Pick<MqttSession, 'subscribe' | 'topic'>;
  /** Where results go: the reading bus, so the outbox (durable, in order with other events). */
  emit: (event: GatewayEvent) => void;
  logPath: string;
  targets: CommandTargets;
  logger: Logger;
  now: () => number;
}

/** Results larger than this are cut (logs.tail): an events message must stay well under the registry's 4 MiB. */
const MAX_RESULT_BYTES = 256 * 1024;
const KEEP_IDS_MS = 7 * 86_400_000;

/**
 * Executes the registry's commands: each arrives signed on `{prefix}/{gw}/cmd`, is verified (the
 * registry's key, this gateway, not expired, arguments valid), recorded by id before it runs (so it
 * runs at most once, also across a crash), executed through the device directory and the other
 * parts, and answered with `command.*` events through the outbox. A repeated id gets the stored
 * answer again, marked `repeat`; an expired command is refused, never executed late.
 */
export class CommandHandler {
  readonly name = 'command handler';
  private readonly opts: CommandHandlerOptions;
  private readonly log: Logger;
  private commandLog: CommandLog | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(opts: CommandHandlerOptions) {
    this.opts = opts;
    this.log = opts.logger;
  }

  start(): void {
    if (this.commandLog) return;
    this.commandLog = new CommandLog(this.opts.logPath);
    this.commandLog.forget(this.opts.now() - KEEP_IDS_MS);
    this.unsubscribe = this.opts.session.subscribe(this.opts.session.topic(Channel.cmd), (_topic, payload) => this.receive(payload));
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    // Commands in progress end (a scan stops at the line's stop); their answers go to the outbox.
    await Promise.allSettled([...this.running]);
    this.commandLog?.close();
    this.commandLog = undefined;
  }

  /** Handles one delivered command (MQTT payload). */
  receive(payload: Buffer): void {
    const log = this.commandLog;
    if (!log) return;
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      this.log.warn({ bytes: payload.length }, 'command is not JSON; ignored');
      return;
    }
    const now = this.opts.now();
    const v = verifyCommand(raw, { gatewayId: this.opts.gatewayId, publicKeysPem: this.opts.trustedKeys, now });
    const id = v.ok ? v.command.id : v.id;
    const name = v.ok ? v.command.name : typeof (raw as { name?: unknown }).name === 'string' ? String((raw as { name: string }).name).slice(0, 64) : 'unknown';
    const known = id === undefined ? undefined : log.lookup(id);
    if (known) {
      // A repeat (the registry republishes until it hears an answer): never executed again.
      const stored: CommandResult = known.result ?? { id: known.id, name: known.name, state: 'failed', error: { code: CommandError.failed, message: 'the agent stopped while this command ran; it was not run again' } };
      this.log.info({ command: id, name: known.name, state: stored.state }, 'repeated command id: answering with the stored result');
      this.answer({ ...stored, repeat: true });
      return;
    }
    if (!v.ok) {
      this.log.warn({ command: id, problem: v.problem, err: v.message }, 'command refused');
      if (id === undefined || v.problem === 'wrong-gateway') return; // nothing to answer, or not ours to answer
      const refused: CommandResult = { id, name, state: 'refused', error: { code: v.code, message: v.message } };
      // a refusal it may give again is remembered like an answer (a forged one is not: it could squat an id)
      if ((v.problem === 'expired' || v.problem === 'bad-args') && log.begin(id, name, now)) log.finish(id, refused);
      this.answer(refused);
      return;
    }
    const cmd = v.command;
    if (!log.begin(cmd.id, cmd.name, now)) return;
    this.log.info({ command: cmd.id, name: cmd.name, actor: cmd.actor }, 'command accepted');
    this.answer({ id: cmd.id, name: cmd.name, state: 'accepted' });
    const run = this.execute(cmd.id, cmd.name, v.args, cmd.actor).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async execute(id: string, name: CommandName, args: Record<string, unknown>, actor: string): Promise<void> {
    const executor = EXECUTORS[name] as (a: unknown, t: CommandTargets, x: { actor: string; progress: (p: { done: number; total: number; message?: string }, partial?: unknown) => void }) => Promise<unknown>;
    let result: CommandResult;
    try {
      const value = await executor(args, this.opts.targets, {
        actor,
        progress: (p, partial) => this.answer({ id, name, state: 'progress', progress: p, ...(partial !== undefined && { result: partial }) }),
      });
      result = { id, name, state: 'succeeded', result: capped(value) };
    } catch (err) {
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : CommandError.failed;
      result = { id, name, state: 'failed', error: { code, message: err instanceof Error ? err.message : String(err) } };
      this.log.warn({ command: id, name, err }, 'command failed');
    }
    this.commandLog?.finish(id, result);
    this.answer(result);
  }

  private answer(r: CommandResult): void {
    const final = FINAL_COMMAND_STATES.includes(r.state);
    const bad: CommandState[] = ['failed', 'refused'];
    this.opts.emit({
      type: commandEventType(r.state),
      ts: this.opts.now(),
      severity: bad.includes(r.state) ? 'warning' : 'info',
      message: `command ${r.name} ${r.id} ${r.state}${r.error ? `: ${r.error.message}` : ''}${r.progress ? ` (${r.progress.done}/${r.progress.total})` : ''}${r.repeat ? ' (repeat)' : ''}`,
      data: r as unknown as Record<string, unknown>,
    });
    if (final) this.log.info({ command: r.id, name: r.name, state: r.state, code: r.error?.code }, 'command answered');
  }
}

/** A result that fits an events message: arrays of lines are cut from the front. */
function capped(value: unknown): unknown {
  const json = JSON.stringify(value ?? null);
  if (Buffer.byteLength(json) <= MAX_RESULT_BYTES) return value;
  if (value && typeof value === 'object' && Array.isArray((value as { lines?: unknown }).lines)) {
    const lines = [...((value as { lines: string[] }).lines)];
    while (lines.length > 0 && Buffer.byteLength(JSON.stringify(lines)) > MAX_RESULT_BYTES) lines.shift();
    return { ...(value as object), lines, truncated: true };
  }
  return { truncated: true, bytes: Buffer.byteLength(json) };
}
