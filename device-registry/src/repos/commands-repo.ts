import type { Kysely, Selectable } from 'kysely';
import type { CommandName, CommandResult, SignedCommand } from '@cityedge/contract';
import type { CommandsTable } from '../db/ops-schema.js';
import type { RegistryTables } from '../db/schema.js';
import { affected, parseJson } from './json.js';

/**
 * Where a command is: `pending` (stored, the broker has not taken it yet), `sent` (the broker
 * took it), `accepted` and `progress` (the gateway is executing it), then `succeeded`, `failed`
 * or `refused` (the gateway's final answer), or `expired` (its expiry passed without a final
 * answer; a final answer arriving later still replaces it).
 */
export type CommandStatus = 'pending' | 'sent' | 'accepted' | 'progress' | 'succeeded' | 'failed' | 'refused' | 'expired';
export const COMMAND_STATUSES: readonly CommandStatus[] = ['pending', 'sent', 'accepted', 'progress', 'succeeded', 'failed', 'refused', 'expired'];
/** States without a final answer. */
export const OPEN_COMMAND_STATUSES: readonly CommandStatus[] = ['pending', 'sent', 'accepted', 'progress'];

export interface CommandRecord {
  id: string;
  gatewayId: string;
  name: CommandName;
  args: Record<string, unknown>;
  /** Account or token name that sent it. */
  actor: string;
  issuedAt: number;
  expiresAt: number;
  state: CommandStatus;
  stateAt: number;
  progress: NonNullable<CommandResult['progress']> | null;
  /** The final result, or the partial result the newest progress carried. */
  result: unknown;
  error: NonNullable<CommandResult['error']> | null;
  /** The gateway answered with the stored result of an earlier delivery of this id. */
  repeat: boolean;
  publishedAt: number | null;
  publishCount: number;
}

/** What the repository also keeps: the audit actor id and the order of the newest result applied. */
export interface StoredCommand extends CommandRecord {
  actorId: string;
  resultSeq: number | null;
  resultIdx: number | null;
}

export type CommandChange = Partial<Pick<StoredCommand, 'state' | 'stateAt' | 'progress' | 'result' | 'error' | 'repeat' | 'resultSeq' | 'resultIdx'>>;

const toCommand = (r: Selectable<CommandsTable>): StoredCommand => ({
  id: r.id,
  gatewayId: r.gateway_id,
  name: r.name as CommandName,
  args: parseJson<Record<string, unknown>>(r.args, {}),
  actor: r.actor,
  actorId: r.actor_id,
  issuedAt: Number(r.issued_at),
  expiresAt: Number(r.expires_at),
  state: r.state as CommandStatus,
  stateAt: Number(r.state_at),
  progress: parseJson<CommandRecord['progress']>(r.progress, null),
  result: parseJson<unknown>(r.result, null),
  error: parseJson<CommandRecord['error']>(r.error, null),
  repeat: r.repeat === 1,
  resultSeq: r.result_seq === null ? null : Number(r.result_seq),
  resultIdx: r.result_idx,
  publishedAt: r.published_at === null ? null : Number(r.published_at),
  publishCount: r.publish_count,
});

const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

export class CommandsRepo {
  constructor(private readonly db: Kysely<RegistryTables>) {}

  async insert(c: StoredCommand, signed: SignedCommand): Promise<void> {
    await this.db
      .insertInto('commands')
      .values({
        id: c.id,
        gateway_id: c.gatewayId,
        name: c.name,
        args: JSON.stringify(c.args),
        actor: c.actor,
        actor_id: c.actorId,
        issued_at: c.issuedAt,
        expires_at: c.expiresAt,
        signed: JSON.stringify(signed),
        state: c.state,
        state_at: c.stateAt,
        progress: json(c.progress),
        result: json(c.result),
        error: json(c.error),
        repeat: c.repeat ? 1 : 0,
        result_seq: c.resultSeq,
        result_idx: c.resultIdx,
        published_at: c.publishedAt,
        publish_count: c.publishCount,
      })
      .execute();
  }

  async get(id: string): Promise<StoredCommand | undefined> {
    const r = await this.db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toCommand(r) : undefined;
  }

  async signed(id: string): Promise<SignedCommand | undefined> {
    const r = await this.db.selectFrom('commands').select('signed').where('id', '=', id).executeTakeFirst();
    return r ? parseJson<SignedCommand | undefined>(r.signed, undefined) : undefined;
  }

  /** Newest first by (issuedAt, id); `before` pages back. */
  async list(q: { gatewayId: string; state?: CommandStatus; before?: { issuedAt: number; id: string }; limit: number }): Promise<StoredCommand[]> {
    let s = this.db.selectFrom('commands').selectAll().where('gateway_id', '=', q.gatewayId).orderBy('issued_at', 'desc').orderBy('id', 'desc').limit(q.limit);
    if (q.state !== undefined) s = s.where('state', '=', q.state);
    const b = q.before;
    if (b !== undefined) s = s.where((eb) => eb.or([eb('issued_at', '<', b.issuedAt), eb.and([eb('issued_at', '=', b.issuedAt), eb('id', '<', b.id)])]));
    return (await s.execute()).map(toCommand);
  }

  /** Commands in one of `states` (of one gateway, or all), oldest first. */
  async inStates(states: readonly CommandStatus[], gatewayId?: string): Promise<StoredCommand[]> {
    let s = this.db.selectFrom('commands').selectAll().where('state', 'in', [...states]).orderBy('issued_at', 'asc').orderBy('id', 'asc');
    if (gatewayId !== undefined) s = s.where('gateway_id', '=', gatewayId);
    return (await s.execute()).map(toCommand);
  }

  /** The broker took it: `pending` becomes `sent` (a later state stays). */
  async markPublished(id: string, now: number): Promise<void> {
    await this.db
      .updateTable('commands')
      .set((eb) => ({ published_at: now, publish_count: eb('publish_count', '+', 1) }))
      .where('id', '=', id)
      .execute();
    await this.db.updateTable('commands').set({ state: 'sent', state_at: now }).where('id', '=', id).where('state', '=', 'pending').execute();
  }

  /**
   * Applies a change when the command is still as read in `expect` (its state and the newest
   * result applied); false when it moved meanwhile (read again and decide again).
   */
  async update(expect: Pick<StoredCommand, 'id' | 'state' | 'resultSeq' | 'resultIdx'>, change: CommandChange): Promise<boolean> {
    const set: Record<string, unknown> = {};
    if (change.state !== undefined) set.state = change.state;
    if (change.stateAt !== undefined) set.state_at = change.stateAt;
    if (change.progress !== undefined) set.progress = json(change.progress);
    if (change.result !== undefined) set.result = json(change.result);
    if (change.error !== undefined) set.error = json(change.error);
    if (change.repeat !== undefined) set.repeat = change.repeat ? 1 : 0;
    if (change.resultSeq !== undefined) set.result_seq = change.resultSeq;
    if (change.resultIdx !== undefined) set.result_idx = change.resultIdx;
    const r = await this.db
      .updateTable('commands')
      .set(set)
      .where('id', '=', expect.id)
      .where('state', '=', expect.state)
      .where((eb) => (expect.resultSeq === null ? eb('result_seq', 'is', null) : eb('result_seq', '=', expect.resultSeq)))
      .where((eb) => (expect.resultIdx === null ? eb('result_idx', 'is', null) : eb('result_idx', '=', expect.resultIdx)))
      .executeTakeFirst();
    return affected(r) > 0;
  }
}
