import Mpeg1Muxer from 'node-rtsp-stream/mpeg1muxer.js';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { redactText } from '../security/uri-secrets.js';
import type { LiveSource } from './live-source.js';

/** node-rtsp-stream's stream header: "jsmp", then width and height as uint16 BE (what jsmpeg players expect first). */
export const STREAM_MAGIC = 'jsmp';
const TS_PACKET = 188;

export interface Mpeg1RelayOptions {
  source: LiveSource;
  ffmpegPath: string;
  logger: Logger;
  /** No video from ffmpeg for this long: the relay stops (camera gone silent). */
  idleTimeoutMs: number;
  /** A viewer with more than this queued is too slow and is disconnected. */
  maxBufferedBytes: number;
  /** MPEG-1 bitrate, ffmpeg syntax (default 1000k). */
  bitrate?: string;
  /** Time between SIGTERM and SIGKILL when stopping ffmpeg. */
  killGraceMs?: number;
  /** Called once, when ffmpeg has exited and every viewer is closed. */
  onStopped: (relay: Mpeg1Relay, reason: string) => void;
}

interface Viewer {
  ws: WebSocket;
  /** Until the first packet boundary, the viewer gets nothing: it starts on a whole MPEG-TS packet. */
  aligned: boolean;
}

/**
 * One camera stream relayed to any number of WebSocket viewers: node-rtsp-stream's muxer runs
 * ffmpeg (RTSP in, MPEG-TS with MPEG-1 video out) and each chunk goes to every viewer, after the
 * "jsmp" header node-rtsp-stream's own server sends. Not that server: it listens on every
 * interface, logs to the console and copies ffmpeg's stderr (which names the URL, credentials
 * included) to the process's stderr; here viewers come through the registry's authenticated
 * HTTP server and ffmpeg's messages are kept, redacted, for the log.
 */
export class Mpeg1Relay {
  private muxer: Mpeg1Muxer | undefined;
  private readonly viewers = new Map<WebSocket, Viewer>();
  private idleTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private lastDataAt = 0;
  /** ffmpeg's stderr, whole lines, at most ~8 KiB. */
  private stderrTail = '';
  private offset = 0;
  private stopReason: string | undefined;
  private done = false;
  private readonly exited: Promise<void>;
  private resolveExited!: () => void;
  readonly log: Logger;
  bytes = 0;

  constructor(private readonly opts: Mpeg1RelayOptions) {
    this.log = opts.logger.child({ gatewayId: opts.source.gatewayId, cameraId: opts.source.cameraId, profile: opts.source.profileToken });
    this.exited = new Promise((r) => (this.resolveExited = r));
  }

  get source(): LiveSource {
    return this.opts.source;
  }

  get pid(): number | undefined {
    return this.muxer?.stream.pid;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get stopping(): boolean {
    return this.stopReason !== undefined;
  }

  /** Spawns ffmpeg. */
  start(): void {
    if (this.muxer) return;
    const { source } = this.opts;
    const muxer = new Mpeg1Muxer({
      url: source.url,
      ffmpegPath: this.opts.ffmpegPath,
      // Output options (node-rtsp-stream puts them after `-i <url> -f mpegts -codec:v mpeg1video`);
      // -nostdin, -hide_banner and -loglevel are global and apply wherever they stand.
      ffmpegOptions: { '-nostdin': '', '-hide_banner': '', '-loglevel': 'error', '-an': '', '-s': `${source.width}x${source.height}`, '-r': '25', '-bf': '0', '-b:v': this.opts.bitrate ?? '1000k' },
    });
    this.muxer = muxer;
    const child = muxer.stream;
    // The muxer's own exit listener only writes to the console; the relay reports exits in the log.
    child.removeAllListeners('exit');
    child.on('error', (err: NodeJS.ErrnoException) => this.finish(`ffmpeg could not be started (${err.code ?? err.message})`));
    child.on('close', (code, signal) => this.finish(this.stopReason ?? `ffmpeg ended (${signal ?? `exit ${code}`})${this.stderrTail ? `: ${this.lastStderrLine()}` : ''}`));
    child.stdin.on('error', () => undefined);
    muxer.on('mpeg1data', (chunk) => this.broadcast(chunk));
    // Raw text stays in memory only; it is redacted (whole lines) when it is logged or sent.
    muxer.on('ffmpegStderr', (d) => {
      const text = this.stderrTail + d.toString('utf8');
      if (text.length <= 8192) this.stderrTail = text;
      else {
        const cut = text.indexOf('\n', text.length - 8192);
        this.stderrTail = cut < 0 ? '' : text.slice(cut + 1);
      }
    });
    this.lastDataAt = Date.now();
    this.idleTimer = setInterval(() => {
      if (Date.now() - this.lastDataAt > this.opts.idleTimeoutMs) void this.stop(`no video from the camera for ${Math.round(this.opts.idleTimeoutMs / 1000)} s`);
    }, Math.max(50, Math.min(1000, Math.floor(this.opts.idleTimeoutMs / 4))));
    this.log.info({ pid: child.pid, url: source.displayUrl, width: source.width, height: source.height }, 'live relay started');
  }

  /** Adds a viewer: the stream header at once, then video from the next MPEG-TS packet on. */
  add(ws: WebSocket): void {
    const { width, height } = this.opts.source;
    const header = Buffer.alloc(8);
    header.write(STREAM_MAGIC, 0, 'ascii');
    header.writeUInt16BE(width, 4);
    header.writeUInt16BE(height, 6);
    ws.send(header, { binary: true });
    this.viewers.set(ws, { ws, aligned: false });
  }

  /** Removes a viewer; the caller decides whether the relay goes on. */
  remove(ws: WebSocket): void {
    this.viewers.delete(ws);
  }

  /** Closes every viewer (with `code`), stops ffmpeg (SIGTERM, SIGKILL after the grace time) and resolves once it has exited. */
  async stop(reason: string, code = 1011): Promise<void> {
    if (this.stopReason === undefined && !this.done) {
      this.stopReason = reason;
      this.closeViewers(code, reason);
      const child = this.muxer?.stream;
      if (child && child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        this.killTimer = setTimeout(() => child.kill('SIGKILL'), this.opts.killGraceMs ?? 2000);
      } else {
        this.finish(reason);
      }
    }
    await this.exited;
  }

  private broadcast(chunk: Buffer): void {
    this.lastDataAt = Date.now();
    const start = this.offset;
    this.offset = (this.offset + chunk.length) % TS_PACKET;
    this.bytes += chunk.length;
    for (const v of this.viewers.values()) {
      if (v.ws.readyState !== WebSocket.OPEN) continue;
      if (v.ws.bufferedAmount > this.opts.maxBufferedBytes) {
        this.log.warn({ buffered: v.ws.bufferedAmount }, 'live viewer too slow; disconnected');
        v.ws.close(1013, 'viewer too slow');
        continue;
      }
      let data = chunk;
      if (!v.aligned) {
        const skip = (TS_PACKET - start) % TS_PACKET;
        if (skip >= chunk.length) continue;
        data = chunk.subarray(skip);
        v.aligned = true;
      }
      v.ws.send(data, { binary: true });
    }
  }

  private finish(reason: string): void {
    if (this.done) return;
    this.done = true;
    clearInterval(this.idleTimer);
    clearTimeout(this.killTimer);
    this.closeViewers(1011, reason);
    const level = this.stopReason === undefined ? 'warn' : 'info';
    this.log[level]({ reason, bytes: this.bytes, ffmpeg: this.stderrTail ? this.lastStderrLine() : undefined }, 'live relay stopped');
    this.resolveExited();
    this.opts.onStopped(this, reason);
  }

  private closeViewers(code: number, reason: string): void {
    // A close reason is at most 123 bytes.
    const text = Buffer.from(reason).subarray(0, 120).toString('utf8').replace(/\uFFFD+$/, '');
    for (const v of this.viewers.values()) if (v.ws.readyState === WebSocket.OPEN || v.ws.readyState === WebSocket.CONNECTING) v.ws.close(code, text);
    this.viewers.clear();
  }

  /** ffmpeg's last message, with any URL's user info and the camera's secrets masked. */
  private lastStderrLine(): string {
    const lines = this.stderrTail.trim().split(/\r?\n/);
    return redactText(lines.at(-1) ?? '', this.opts.source.secrets).slice(0, 300);
  }
}
