import * as z from 'zod';
import { ALARM_KEY } from './alarms.js';
import { signCanonical, verifyCanonical } from './signed-config.js';

/**
 * Commands: the registry asks one gateway to do something now. A command is signed by the
 * registry (the same Ed25519 keys as configurations), bound to one gateway, carries an id, an
 * expiry and the actor who sent it, and is published on `{prefix}/{gw}/cmd` (QoS 1, not
 * retained; the registry republishes unexpired pending commands when the gateway comes online).
 *
 * The gateway executes an id at most once, answers a repeat with the stored result, refuses an
 * expired command without executing it, and reports through its outbox as events, in order with
 * its other events: `command.accepted`, `command.progress`, then one of `command.succeeded`,
 * `command.failed`, `command.refused` (data: CommandResult).
 */
export const COMMAND_ID = /^[A-Za-z0-9_-]{8,64}$/;

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected an id (letters, digits, "_", "-", ".")');

/** Arguments of each command, by name. */
export const CommandArgs = {
  /** Write a writable point, then read it back to confirm (unless confirm is false). */
  'point.write': z.strictObject({ dev: id, pt: z.string().min(1).max(64), value: z.union([z.number().finite(), z.boolean()]), confirm: z.boolean().default(true) }),
  /** Read every point of a device now, outside its schedule. */
  'device.read': z.strictObject({ dev: id }),
  /**
   * Look for Modbus unit ids on a line (and, on serial lines, at other baud rates), between
   * the line's polls, with progress events and a time bound.
   */
  'line.scan': z.strictObject({
    line: id,
    from: z.int().min(0).max(255).default(1),
    to: z.int().min(0).max(255).default(247),
    baudRates: z.array(z.int().min(300).max(921_600)).max(8).optional(),
    /** Per probe; default the line's timeout. */
    timeoutMs: z.int().min(20).max(5000).optional(),
    /** The whole scan ends by then with what it found (complete: false). */
    deadlineMs: z.int().min(1000).max(600_000).default(120_000),
  }),
  /** The serial ports this gateway has (and their /dev/serial/by-id names). */
  'serial.list': z.strictObject({}),
  /** Probe one camera now. */
  'camera.probe': z.strictObject({ camera: id }),
  /** The agent's last log lines, secrets redacted. */
  'logs.tail': z.strictObject({ lines: z.int().min(1).max(1000).default(100) }),
  /** Restart the agent (systemd starts it again); answered before it goes. */
  'agent.restart': z.strictObject({}),
  /**
   * A technician acknowledges an alarm raised by a rule at the gateway: the local warning
   * (siren, beacon) goes silent, the alarm stays raised until its condition clears, and the
   * warning sounds again if the level rises further.
   */
  'alarm.ack': z.strictObject({ key: z.string().regex(ALARM_KEY, 'expected an alarm key like "flood.level/dongha"') }),
  /** A technician sets a lighting group's level until a time (or for a duration); then the schedule resumes. */
  'lighting.override': z
    .strictObject({
      group: id,
      level: z.int().min(0).max(100),
      untilMs: z.int().min(0).optional(),
      durationMs: z.int().min(1000).max(7 * 86_400_000).optional(),
    })
    .refine((a) => (a.untilMs === undefined) !== (a.durationMs === undefined), { message: 'give exactly one of untilMs and durationMs', path: ['untilMs'] }),
} as const;
export type CommandName = keyof typeof CommandArgs;
export const COMMAND_NAMES = Object.keys(CommandArgs) as CommandName[];
export type CommandArgsOf<N extends CommandName> = z.output<(typeof CommandArgs)[N]>;

/** The signed part of a command, as the registry builds it. */
export const CommandBody = z.strictObject({
  v: z.literal(1),
  id: z.string().regex(COMMAND_ID, 'expected a command id of 8..64 letters, digits, "_" or "-"'),
  gatewayId: z.string().min(1),
  name: z.enum(COMMAND_NAMES as [CommandName, ...CommandName[]]),
  args: z.record(z.string(), z.unknown()),
  /** Who sent it (an account or token name), for the gateway's log and the audit trail. */
  actor: z.string().min(1).max(128),
  issuedAt: z.int().min(0),
  expiresAt: z.int().min(0),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
});
export type CommandBody = z.infer<typeof CommandBody>;

export const SignedCommand = CommandBody.extend({ sig: z.string().min(1) });
export type SignedCommand = z.infer<typeof SignedCommand>;

export function signCommand(body: Omit<CommandBody, 'v' | 'keyId'>, privateKeyPem: string): SignedCommand {
  return signCanonical({ v: 1 as const, ...body }, privateKeyPem) as SignedCommand;
}

export type CommandProblem = 'malformed' | 'wrong-gateway' | 'unknown-key' | 'bad-signature' | 'expired' | 'bad-args';

/** Errors a command can end with (in CommandResult.error.code). */
export const CommandError = {
  malformed: 'EDGE_CMD_MALFORMED',
  wrongGateway: 'EDGE_CMD_WRONG_GATEWAY',
  unknownKey: 'EDGE_CMD_UNTRUSTED',
  badSignature: 'EDGE_CMD_UNTRUSTED',
  expired: 'EDGE_CMD_EXPIRED',
  badArgs: 'EDGE_CMD_BAD_ARGS',
  unknownTarget: 'EDGE_CMD_UNKNOWN_TARGET',
  notWritable: 'EDGE_CMD_NOT_WRITABLE',
  notConfirmed: 'EDGE_CMD_NOT_CONFIRMED',
  unsupported: 'EDGE_CMD_UNSUPPORTED',
  failed: 'EDGE_CMD_FAILED',
} as const;

export type VerifiedCommand = { ok: true; command: SignedCommand; args: Record<string, unknown> } | { ok: false; problem: CommandProblem; code: string; message: string; id?: string };

/**
 * Checks a delivered command: well formed, for this gateway, signed by a trusted key, not
 * expired at `now`, arguments valid for its name (defaults applied).
 */
export function verifyCommand(raw: unknown, expect: { gatewayId: string; publicKeysPem: readonly string[]; now: number }): VerifiedCommand {
  const parsed = SignedCommand.safeParse(raw);
  const rawId = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
  const withId = rawId !== undefined && COMMAND_ID.test(rawId) ? { id: rawId } : {};
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { ok: false, problem: 'malformed', code: CommandError.malformed, message: `not a command: ${i?.path.join('.') || '(root)'}: ${i?.message}`, ...withId };
  }
  const cmd = parsed.data;
  if (cmd.gatewayId !== expect.gatewayId) return { ok: false, problem: 'wrong-gateway', code: CommandError.wrongGateway, message: `command is for gateway "${cmd.gatewayId}", not "${expect.gatewayId}"`, id: cmd.id };
  const sig = verifyCanonical(cmd, expect.publicKeysPem);
  if (sig !== 'ok') {
    const problem = sig === 'unknown-key' ? 'unknown-key' : 'bad-signature';
    return { ok: false, problem, code: CommandError.badSignature, message: sig === 'unknown-key' ? `command is signed with key ${cmd.keyId}, which this gateway does not trust` : 'command signature does not verify', id: cmd.id };
  }
  if (cmd.expiresAt <= expect.now) return { ok: false, problem: 'expired', code: CommandError.expired, message: `command expired ${expect.now - cmd.expiresAt} ms ago; not executed`, id: cmd.id };
  const args = CommandArgs[cmd.name].safeParse(cmd.args);
  if (!args.success) {
    const i = args.error.issues[0];
    return { ok: false, problem: 'bad-args', code: CommandError.badArgs, message: `args.${i?.path.join('.') || ''}: ${i?.message}`.replace(/\.: /, ': '), id: cmd.id };
  }
  return { ok: true, command: cmd, args: args.data as Record<string, unknown> };
}

/** How a command ends, or where it is. */
export const CommandState = z.enum(['accepted', 'progress', 'succeeded', 'failed', 'refused']);
export type CommandState = z.infer<typeof CommandState>;
export const FINAL_COMMAND_STATES: readonly CommandState[] = ['succeeded', 'failed', 'refused'];

/** `data` of the command.* events. */
export const CommandResult = z.strictObject({
  id: z.string().regex(COMMAND_ID),
  name: z.string(),
  state: CommandState,
  /** Progress: how far (e.g. unit ids probed of all), what was found so far. */
  progress: z.strictObject({ done: z.int().min(0), total: z.int().min(0), message: z.string().optional() }).optional(),
  /** The answer of a succeeded command (shape per command name). */
  result: z.unknown().optional(),
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
  /** A repeat of an id already executed: this is the stored result, not a new execution. */
  repeat: z.boolean().optional(),
});
export type CommandResult = z.infer<typeof CommandResult>;

export const commandEventType = (state: CommandState) => `command.${state}` as const;
