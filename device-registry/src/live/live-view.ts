import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { RegistryError, type RegistryErrorCode } from '../errors.js';
import { actorId, Auditor, type CallContext } from '../service/context.js';
import type { RegistryServices } from '../service/registry-services.js';
import { roleAllows } from '../service/token-service.js';
import { FfmpegCheck } from './ffmpeg-check.js';
import { resolveLiveSource, type LiveSource } from './live-source.js';
import { LiveTickets, type LiveGrant } from './live-tickets.js';
import { Mpeg1Relay } from './mpeg1-relay.js';

export interface LiveViewOptions {
  /** The ffmpeg binary (default `ffmpeg` from PATH). */
  ffmpegPath?: string;
  /** Lifetime of a ticket from POST .../live (default 60 s). */
  ticketTtlMs?: number;
  /** How long ffmpeg keeps running after the last viewer left, for a quick reconnect (default 0: stop at once). */
  lingerMs?: number;
  /** No video from the camera for this long: the relay stops and viewers are told why (default 20 s). */
  idleTimeoutMs?: number;
  /** A viewer is disconnected after this long and must ask for a new ticket: a forgotten tab does not stream forever (default 30 min). */
  maxViewMs?: number;
  /** Cameras relayed at once (one ffmpeg each; default 8). */
  maxRelays?: number;
  maxViewersPerRelay?: number;
  /** A viewer with more queued than this is too slow and is disconnected (default 4 MiB). */
  maxBufferedBytes?: number;
  /** MPEG-1 bitrate in ffmpeg syntax (default 1000k). */
  bitrate?: string;
  /** SIGTERM to SIGKILL (default 2 s). */
  killGraceMs?: number;
}

export interface LiveViewStats {
  relays: Array<{ gatewayId: string; cameraId: string; profile: string; viewers: number; pid: number | undefined; bytes: number }>;
  tickets: number;
}

export const LIVE_UNAVAILABLE_MESSAGE = 'live view needs ffmpeg on the registry host (apt-get install ffmpeg)';
const WS_PATH = /^\/v1\/gateways\/([^/]+)\/cameras\/([^/]+)\/live\/ws$/;

export function liveWsPath(gatewayId: string, cameraId: string): string {
  return `/v1/gateways/${encodeURIComponent(gatewayId)}/cameras/${encodeURIComponent(cameraId)}/live/ws`;
}

/**
 * Live view: a technician asks for a ticket (POST .../live), then opens a WebSocket on the
 * registry's own HTTP server (GET .../live/ws?ticket=...) and receives the camera's stream as
 * MPEG-1 in MPEG-TS (jsmpeg's format). The first viewer of a camera starts one ffmpeg through
 * node-rtsp-stream; the last one leaving stops it. Nothing listens anywhere else, the RTSP
 * credentials never leave the registry, and without ffmpeg the request answers 503.
 */
export class LiveView {
  private readonly o: Required<LiveViewOptions>;
  private readonly log: Logger;
  private readonly ffmpeg: FfmpegCheck;
  private readonly tickets: LiveTickets;
  private readonly relays = new Map<string, Mpeg1Relay>();
  private readonly lingers = new Map<string, NodeJS.Timeout>();
  private readonly auditor: Auditor;
  private wss: WebSocketServer | undefined;
  private server: Server | undefined;
  private stopped = false;

  constructor(
    private readonly services: RegistryServices,
    logger: Logger,
    options: LiveViewOptions = {},
  ) {
    this.o = {
      ffmpegPath: options.ffmpegPath ?? 'ffmpeg',
      ticketTtlMs: options.ticketTtlMs ?? 60_000,
      lingerMs: options.lingerMs ?? 0,
      idleTimeoutMs: options.idleTimeoutMs ?? 20_000,
      maxViewMs: options.maxViewMs ?? 30 * 60_000,
      maxRelays: options.maxRelays ?? 8,
      maxViewersPerRelay: options.maxViewersPerRelay ?? 16,
      maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
      bitrate: options.bitrate ?? '1000k',
      killGraceMs: options.killGraceMs ?? 2000,
    };
    this.log = logger.child({ module: 'live-view' });
    const now = () => services.clock.now();
    this.ffmpeg = new FfmpegCheck(this.o.ffmpegPath, now);
    this.tickets = new LiveTickets(now, this.o.ticketTtlMs);
    this.auditor = new Auditor(services.clock);
  }

  /** Starts answering WebSocket upgrades on the registry's HTTP server. */
  attach(server: Server): void {
    if (this.server || this.stopped) return;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false, clientTracking: true });
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  /** Closes every viewer, stops every ffmpeg and waits for them to exit. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.server?.off('upgrade', this.onUpgrade);
    for (const t of this.lingers.values()) clearTimeout(t);
    this.lingers.clear();
    this.tickets.clear();
    await Promise.all([...this.relays.values()].map((r) => r.stop('the registry is shutting down', 1001)));
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
  }

  stats(): LiveViewStats {
    return {
      relays: [...this.relays.values()].map((r) => ({ gatewayId: r.source.gatewayId, cameraId: r.source.cameraId, profile: r.source.profileToken, viewers: r.viewerCount, pid: r.pid, bytes: r.bytes })),
      tickets: this.tickets.size,
    };
  }

  /**
   * A ticket for one viewer of one camera. Throws REG_LIVE_UNAVAILABLE (no ffmpeg, too many
   * streams), REG_NOT_FOUND, REG_VALIDATION (unknown profile) or REG_LIVE_NO_STREAM.
   */
  async requestTicket(gatewayId: string, cameraId: string, profile: string | undefined, ctx: CallContext): Promise<{ ticket: string; expiresAt: number; source: LiveSource }> {
    const source = await this.grantable(gatewayId, cameraId, profile, ctx);
    const issued = this.tickets.issue({ source, actor: ctx.actor, sourceIp: ctx.sourceIp });
    if (!issued) throw new RegistryError('REG_LIVE_UNAVAILABLE', 'too many live-view tickets waiting to be used; try again in a minute', { headers: { 'retry-after': '60' } });
    return { ...issued, source };
  }

  private async grantable(gatewayId: string, cameraId: string, profile: string | undefined, ctx: CallContext): Promise<LiveSource> {
    if (this.stopped) throw new RegistryError('REG_LIVE_UNAVAILABLE', 'live view is shutting down');
    if (!(await this.ffmpeg.available())) throw new RegistryError('REG_LIVE_UNAVAILABLE', LIVE_UNAVAILABLE_MESSAGE);
    const source = await resolveLiveSource(this.services, gatewayId, cameraId, profile);
    if (!this.relays.has(relayKey(source)) && this.relays.size >= this.o.maxRelays) {
      throw new RegistryError('REG_LIVE_UNAVAILABLE', `too many live streams at once (${this.o.maxRelays}); try again when one ends`, { headers: { 'retry-after': '30' } });
    }
    // Who watched which camera, when: a record for the privacy officer, not a change.
    await this.auditor.record(this.services.store, ctx, 'camera.live', { type: 'camera', id: `${gatewayId}/${cameraId}` }, { profile: source.profileToken });
    return source;
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => undefined);
    this.upgrade(req, socket, head).catch((err: unknown) => {
      if (err instanceof RegistryError) return reject(socket, err.status, err.code, err.message, err.headers);
      this.log.error({ err }, 'live-view upgrade failed');
      reject(socket, 500, 'REG_INTERNAL', 'internal error; the registry log has the details');
    });
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    const m = WS_PATH.exec(url.pathname);
    if (!m || !this.wss) throw new RegistryError('REG_NOT_FOUND', `no WebSocket route ${url.pathname}`);
    let gatewayId: string;
    let cameraId: string;
    try {
      gatewayId = decodeURIComponent(m[1]!);
      cameraId = decodeURIComponent(m[2]!);
    } catch {
      throw new RegistryError('REG_BAD_REQUEST', 'the path is not valid percent-encoding');
    }
    const grant = await this.authorize(req, url, gatewayId, cameraId);
    if (this.stopped) throw new RegistryError('REG_LIVE_UNAVAILABLE', 'live view is shutting down');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.join(grant, ws));
  }

  /** A ticket (`?ticket=`, browsers) or an operator token with the technician role (`Authorization: Bearer`, other clients). */
  private async authorize(req: IncomingMessage, url: URL, gatewayId: string, cameraId: string): Promise<LiveGrant> {
    const ticket = url.searchParams.get('ticket');
    if (ticket !== null) {
      const r = this.tickets.consume(ticket, gatewayId, cameraId);
      if (!r.ok) throw new RegistryError('REG_UNAUTHORIZED', r.reason);
      return r.grant;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new RegistryError('REG_UNAUTHORIZED', 'missing credentials: a live-view ticket (?ticket= from POST .../live) or "Authorization: Bearer <token>"', { headers: { 'www-authenticate': 'Bearer realm="cityedge-registry"' } });
    const actor = await this.services.tokens.authenticate(m[1]!);
    if (!actor) throw new RegistryError('REG_UNAUTHORIZED', 'unknown or revoked API token');
    if (!roleAllows(actor.role, 'technician')) throw new RegistryError('REG_FORBIDDEN', `role "${actor.role}" may not watch live video; it needs "technician" or above`);
    const sourceIp = req.socket.remoteAddress;
    const profile = url.searchParams.get('profile') ?? undefined;
    const source = await this.grantable(gatewayId, cameraId, profile, { actor, ...(sourceIp !== undefined && { sourceIp }) });
    return { source, actor, sourceIp };
  }

  private join(grant: LiveGrant, ws: WebSocket): void {
    const key = relayKey(grant.source);
    let relay = this.relays.get(key);
    if (relay?.stopping) relay = undefined;
    if (!relay) {
      if (this.relays.size >= this.o.maxRelays) return ws.close(1013, 'too many live streams at once');
      const r = new Mpeg1Relay({
        source: grant.source,
        ffmpegPath: this.o.ffmpegPath,
        logger: this.log,
        idleTimeoutMs: this.o.idleTimeoutMs,
        maxBufferedBytes: this.o.maxBufferedBytes,
        bitrate: this.o.bitrate,
        killGraceMs: this.o.killGraceMs,
        onStopped: (stopped, reason) => {
          if (this.relays.get(key) === stopped) this.relays.delete(key);
          clearTimeout(this.lingers.get(key));
          this.lingers.delete(key);
          if (/could not be started/.test(reason)) this.ffmpeg.invalidate();
        },
      });
      this.relays.set(key, r);
      r.start();
      relay = r;
    }
    if (relay.viewerCount >= this.o.maxViewersPerRelay) return ws.close(1013, 'too many viewers of this camera');
    clearTimeout(this.lingers.get(key));
    this.lingers.delete(key);
    const r = relay;
    r.add(ws);
    const limit = setTimeout(() => ws.close(1000, 'live view time limit reached; request a new ticket'), this.o.maxViewMs);
    ws.on('message', () => undefined);
    ws.on('error', (err) => r.log.debug({ err: err.message }, 'live viewer socket error'));
    ws.on('close', () => {
      clearTimeout(limit);
      r.remove(ws);
      r.log.info({ actor: actorId(grant.actor), viewers: r.viewerCount }, 'live viewer left');
      if (r.viewerCount === 0 && !r.stopping) this.lastViewerLeft(key, r);
    });
    r.log.info({ actor: actorId(grant.actor), sourceIp: grant.sourceIp, viewers: r.viewerCount }, 'live viewer joined');
  }

  private lastViewerLeft(key: string, relay: Mpeg1Relay): void {
    if (this.o.lingerMs <= 0) {
      void relay.stop('nobody watches', 1000);
      return;
    }
    this.lingers.set(
      key,
      setTimeout(() => {
        this.lingers.delete(key);
        if (relay.viewerCount === 0) void relay.stop('nobody watches', 1000);
      }, this.o.lingerMs),
    );
  }
}

function relayKey(s: LiveSource): string {
  return `${s.gatewayId}\u0000${s.cameraId}\u0000${s.profileToken}`;
}

/** Answers an upgrade request that is refused with the registry's usual error body, and closes the socket. */
function reject(socket: Duplex, status: number, code: RegistryErrorCode | 'REG_INTERNAL', message: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extra}\r\n${body}`);
}
