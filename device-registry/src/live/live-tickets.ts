import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from '../service/context.js';
import type { LiveSource } from './live-source.js';

export interface LiveGrant {
  source: LiveSource;
  actor: Actor;
  sourceIp: string | undefined;
}

interface Entry extends LiveGrant {
  expiresAt: number;
}

export type TicketCheck = { ok: true; grant: LiveGrant } | { ok: false; reason: string };

const digest = (t: string) => createHash('sha256').update(t).digest('base64url');

/**
 * Short-lived, single-use tickets that let a browser open the live WebSocket (which cannot carry
 * an Authorization header). A ticket is 32 random bytes, kept only as its SHA-256 in memory,
 * bound to one gateway and camera, and gone once used or expired.
 */
export class LiveTickets {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number,
    private readonly ttlMs: number,
    private readonly maxOutstanding = 1000,
  ) {}

  issue(grant: LiveGrant): { ticket: string; expiresAt: number } | undefined {
    this.prune();
    if (this.entries.size >= this.maxOutstanding) return undefined;
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.entries.set(digest(ticket), { ...grant, expiresAt });
    return { ticket, expiresAt };
  }

  /** Takes a ticket for this gateway and camera: valid once, before it expires. */
  consume(ticket: string, gatewayId: string, cameraId: string): TicketCheck {
    const key = digest(ticket);
    const e = this.entries.get(key);
    if (!e) return { ok: false, reason: 'unknown or already used live-view ticket' };
    if (e.source.gatewayId !== gatewayId || e.source.cameraId !== cameraId) return { ok: false, reason: 'the live-view ticket is for another camera' };
    this.entries.delete(key);
    if (this.now() >= e.expiresAt) return { ok: false, reason: 'the live-view ticket has expired; request a new one' };
    const { expiresAt: _e, ...grant } = e;
    return { ok: true, grant };
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private prune(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (now >= e.expiresAt) this.entries.delete(k);
  }
}
