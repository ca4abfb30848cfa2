import { randomBytes } from 'node:crypto';
import { COMMAND_NAMES, CommandArgs, CommandResult, CommandState, problemsFromZod, signCommand, type CommandName, type SignedCommand } from '@cityedge/contract';
import type { Repos, RegistryStore } from '../db/store.js';
import { invalid, notFound, RegistryError } from '../errors.js';
import { OPEN_COMMAND_STATUSES, type CommandRecord, type CommandStatus, type StoredCommand } from '../repos/commands-repo.js';
import type { StoredEvent } from '../repos/events-repo.js';
import type { GatewayState } from '../repos/gateways-repo.js';
import type { SigningKey } from '../security/signing-key.js';
import { actorId, actorLabel, SYSTEM, type CallContext, type ServiceDeps } from './context.js';
import type { CommandPublisher } from './ports.js';

export interface CommandInput {
  name: string;
  args?: Record<string, unknown>;
  /** How long the gateway may still start it; default 60 s. */
  ttlMs?: number;
}

export interface CommandServiceOptions {
  /** Default 60 s. */
  defaultTtlMs?: number;
  /** Default 1 h. */
  maxTtlMs?: number;
  /**
   * How long after its expiry (and, for a line scan, its deadline) an accepted command may run
   * before it counts as expired without an answer (the gateway went away); default 5 min.
   */
  resultGraceMs?: number;
}

/** The answer to a send: the command, and what the registry knows about reaching the gateway. */
export interface SentCommand extends CommandRecord {
  gatewayStatus: GatewayState;
  /** Why the command may not reach the gateway soon (never connected, offline, broker down), or null. */
  warning: string | null;
}

const RANK: Record<CommandStatus, number> = { pending: 0, sent: 1, expired: 1, accepted: 2, progress: 3, succeeded: 4, failed: 4, refused: 4 };
const isFinal = (s: CommandStatus): boolean => RANK[s] === 4;
const iso = (ms: number): string => new Date(ms).toISOString();

function view(c: StoredCommand): CommandRecord {
  const { actorId: _a, resultSeq: _s, resultIdx: _i, ...rest } = c;
  return rest;
}


/**
 * Commands to gateways: validated against the contract's argument schemas, signed with the
 * registry's configuration key (id, expiry, actor), stored, then published QoS 1 on the gateway's
 * cmd topic. The gateway answers with `command.*` events (through its outbox), applied here in
 * the transaction that stores them: states only move forward, a final answer never changes
 * (a repeat answer is noted), and one arriving after the command expired replaces `expired`.
 * Commands without an answer are published again when their gateway comes back online; a
 * pending one (the broker did not take it) is retried by `sweep`, which also expires them.
 */
export class CommandService {
  private readonly defaultTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly graceMs: number;
  /** Commands being handed to the broker now: the sweep and a reconnect leave them alone. */
  private readonly publishing = new Set<string>();

  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly signingKey: SigningKey,
    private readonly publisher: CommandPublisher,
    opts: CommandServiceOptions = {},
  ) {
    this.defaultTtlMs = opts.defaultTtlMs ?? 60_000;
    this.maxTtlMs = opts.maxTtlMs ?? 3_600_000;
    this.graceMs = opts.resultGraceMs ?? 300_000;
  }

  /** Signs, stores, audits and publishes a command; resolves with its id and state (pending or sent). */
  async send(gatewayId: string, input: CommandInput, ctx: CallContext): Promise<SentCommand> {
    if (!(COMMAND_NAMES as readonly string[]).includes(input.name)) throw invalid('body.name', `expected one of ${COMMAND_NAMES.join(', ')}`);
    const name = input.name as CommandName;
    const parsed = CommandArgs[name].safeParse(input.args ?? {});
    if (!parsed.success) {
      const problems = problemsFromZod(parsed.error, ['body', 'args']);
      throw new RegistryError('REG_VALIDATION', problems.map((p) => `${p.path}: ${p.message}`).join('; '), { field: problems[0]!.path, problems });
    }
    const ttlMs = input.ttlMs ?? this.defaultTtlMs;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000 || ttlMs > this.maxTtlMs) throw invalid('body.ttlMs', `must be 1000..${this.maxTtlMs}`);
    const gw = await this.store.gateways.get(gatewayId);
    if (!gw) throw notFound('gateway', gatewayId);

    const now = this.deps.clock.now();
    const args = parsed.data as Record<string, unknown>;
    const actor = actorLabel(ctx);
    // Hex, not base64url: an id that began with '-' would read as an option on edgectl's command line.
    const body = { id: randomBytes(16).toString('hex'), gatewayId, name, args, actor, issuedAt: now, expiresAt: now + ttlMs };
    const signed = signCommand(body, this.signingKey.privateKeyPem);
    const record: StoredCommand = {
      ...body,
      actorId: actorId(ctx.actor),
      state: 'pending',
      stateAt: now,
      progress: null,
      result: null,
      error: null,
      repeat: false,
      resultSeq: null,
      resultIdx: null,
      publishedAt: null,
      publishCount: 0,
    };
    await this.store.transaction(async (tx) => {
      await tx.commands.insert(record, signed);
      await this.deps.auditor.record(tx, ctx, 'command.send', { type: 'command', id: body.id }, { gatewayId, name, args, ttlMs, expiresAt: body.expiresAt });
    });
    const published = await this.publish(record, signed);
    this.deps.logger.info({ gatewayId, commandId: body.id, name, actor, published }, 'command sent');

    const expires = `if before it expires at ${iso(body.expiresAt)}`;
    const warnings: string[] = [];
    if (gw.enrolledAt === null) warnings.push(`gateway "${gatewayId}" has not enrolled yet; the command is sent when it connects, ${expires}`);
    else if (gw.status.state === 'unknown') warnings.push(`gateway "${gatewayId}" has never connected; the command is sent when it connects, ${expires}`);
    else if (gw.status.state === 'offline') warnings.push(`gateway "${gatewayId}" is offline (last seen ${gw.status.lastSeen === null ? 'never' : iso(gw.status.lastSeen)}); the command is sent again when it comes back online, ${expires}`);
    if (!published) warnings.push(`the broker did not take the command; it is retried until it expires at ${iso(body.expiresAt)}`);
    return { ...(await this.get(body.id)), gatewayStatus: gw.status.state, warning: warnings.length > 0 ? warnings.join('; ') : null };
  }

  async get(id: string): Promise<CommandRecord> {
    let c = await this.store.commands.get(id);
    if (!c) throw notFound('command', id);
    if (await this.expireIfOverdue(c)) c = (await this.store.commands.get(id))!;
    return view(c);
  }

  /** A gateway's commands, newest first. */
  async list(gatewayId: string, q: { state?: CommandStatus; before?: { issuedAt: number; id: string }; limit: number }): Promise<CommandRecord[]> {
    if (!(await this.store.gateways.get(gatewayId))) throw notFound('gateway', gatewayId);
    let rows = await this.store.commands.list({ gatewayId, ...q });
    if ((await Promise.all(rows.map((c) => this.expireIfOverdue(c)))).some(Boolean)) rows = await this.store.commands.list({ gatewayId, ...q });
    return rows.map(view);
  }

  /** Applies a `command.*` event of a gateway, inside the transaction that stores it. */
  async applyResult(tx: Repos, e: StoredEvent): Promise<void> {
    const log = this.deps.logger;
    const state = CommandState.safeParse(e.type.slice('command.'.length));
    if (!state.success) return;
    const r = CommandResult.safeParse(e.data);
    if (!r.success || r.data.state !== state.data) {
      log.warn({ gatewayId: e.gatewayId, seq: e.seq, type: e.type }, 'a command result event without a valid result; stored, not applied');
      return;
    }
    const res = r.data;
    const now = this.deps.clock.now();
    for (let attempt = 0; attempt < 3; attempt++) {
      const cmd = await tx.commands.get(res.id);
      if (!cmd || cmd.gatewayId !== e.gatewayId) {
        log.warn({ gatewayId: e.gatewayId, commandId: res.id }, 'a result for a command this gateway was not sent; ignored');
        return;
      }
      const audit = (details: Record<string, unknown> = {}) =>
        this.deps.auditor.record(tx, { actor: { kind: 'gateway', id: e.gatewayId } }, 'command.result', { type: 'command', id: cmd.id }, { gatewayId: e.gatewayId, name: cmd.name, state: res.state, error: res.error?.code ?? null, repeat: res.repeat ?? false, ...details });
      if (isFinal(cmd.state)) {
        // A final answer stands; a repeat of it (the gateway got the command again) is noted.
        if (res.repeat === true && !cmd.repeat && (await tx.commands.update(cmd, { repeat: true }))) await audit();
        return;
      }
      const newer = cmd.resultSeq === null || e.seq > cmd.resultSeq || (e.seq === cmd.resultSeq && e.idx > (cmd.resultIdx ?? -1));
      if (!isFinal(res.state) && (!newer || RANK[res.state] < RANK[cmd.state])) return;
      const moved = await tx.commands.update(cmd, {
        state: res.state,
        stateAt: now,
        resultSeq: e.seq,
        resultIdx: e.idx,
        ...(res.progress !== undefined && { progress: res.progress }),
        ...(res.result !== undefined && { result: res.result }),
        ...(res.error !== undefined && { error: res.error }),
        ...(res.repeat === true && { repeat: true }),
      });
      if (!moved) continue; // another answer or the sweeper changed it meanwhile: read again
      if (res.state !== 'progress') await audit(cmd.state === 'expired' ? { after: 'expired' } : {});
      log[res.state === 'failed' || res.state === 'refused' ? 'warn' : 'info']({ gatewayId: e.gatewayId, commandId: cmd.id, name: cmd.name, state: res.state, error: res.error }, 'command result');
      return;
    }
    log.warn({ gatewayId: e.gatewayId, commandId: res.id, state: res.state }, 'a command result kept losing to concurrent changes; not applied');
  }

  /** Publishes the gateway's unexpired commands that have no answer yet again (it came back online). */
  async redeliver(gatewayId: string): Promise<number> {
    const now = this.deps.clock.now();
    let n = 0;
    for (const c of await this.store.commands.inStates(['pending', 'sent'], gatewayId)) {
      if (c.expiresAt > now && (await this.publish(c))) n++;
    }
    if (n > 0) this.deps.logger.info({ gatewayId, commands: n }, 'commands without an answer published again');
    return n;
  }

  /** Expires overdue commands and retries publishing pending ones; the sweeper calls it periodically. */
  async sweep(): Promise<{ expired: number; published: number }> {
    let expired = 0;
    let published = 0;
    for (const c of await this.store.commands.inStates(OPEN_COMMAND_STATUSES)) {
      if (await this.expireIfOverdue(c)) expired++;
      else if (c.state === 'pending' && (await this.publish(c))) published++;
    }
    return { expired, published };
  }

  /** When a command without a final answer counts as expired. */
  private deadline(c: StoredCommand): number {
    if (c.state === 'pending' || c.state === 'sent') return c.expiresAt;
    const scan = c.name === 'line.scan' && typeof c.args.deadlineMs === 'number' ? c.args.deadlineMs : 0;
    return c.expiresAt + scan + this.graceMs;
  }

  private async expireIfOverdue(c: StoredCommand): Promise<boolean> {
    const now = this.deps.clock.now();
    if (!OPEN_COMMAND_STATUSES.includes(c.state) || now < this.deadline(c)) return false;
    return this.store.transaction(async (tx) => {
      if (!(await tx.commands.update(c, { state: 'expired', stateAt: now }))) return false;
      await this.deps.auditor.record(tx, SYSTEM, 'command.expire', { type: 'command', id: c.id }, { gatewayId: c.gatewayId, name: c.name, after: c.state, expiresAt: c.expiresAt });
      this.deps.logger.warn({ gatewayId: c.gatewayId, commandId: c.id, name: c.name, after: c.state }, 'command expired without a final answer');
      return true;
    });
  }

  private async publish(c: StoredCommand, signed?: SignedCommand): Promise<boolean> {
    if (this.publishing.has(c.id)) return false;
    this.publishing.add(c.id);
    try {
      if (!signed) {
        // Read before: publish again only if nobody published it or answered since.
        const current = await this.store.commands.get(c.id);
        if (!current || current.state !== c.state || current.publishCount !== c.publishCount) return false;
      }
      const doc = signed ?? (await this.store.commands.signed(c.id));
      if (!doc) return false;
      await this.publisher.publishCommand(c.gatewayId, doc);
      await this.store.commands.markPublished(c.id, this.deps.clock.now());
      return true;
    } catch (err) {
      this.deps.logger.warn({ err, gatewayId: c.gatewayId, commandId: c.id }, 'publishing a command failed; published again later (sweep or reconnect) until it expires');
      return false;
    } finally {
      this.publishing.delete(c.id);
    }
  }
}
