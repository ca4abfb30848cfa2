import net from 'node:net';
import { CameraError, fromSocketError } from './camera-error.js';

export interface RtspResponse {
  status: number;
  reason: string;
  /** Header values by lower-cased name (WWW-Authenticate can repeat). */
  headers: Map<string, string[]>;
  body: Buffer;
}

export interface RtspConnectionOptions {
  host: string;
  port: number;
  /** Absolute time (Date.now() scale) after which everything on this connection fails with EDGE_CAMERA_TIMEOUT. */
  deadline: number;
  /** Largest RTSP message (headers + body). */
  maxResponseBytes: number;
  /** For error messages. */
  what: string;
}

const MAX_HEADER_BYTES = 16 * 1024;
const USER_AGENT = 'cityedge-camera-probe/1';

/**
 * One RTSP control connection (RFC 2326) over TCP: requests answered in CSeq order, and RTP
 * interleaved frames (`$`, channel, length) handed to a listener. Everything shares one
 * deadline; a reply that is malformed or too big fails the connection with a coded error.
 */
export class RtspConnection {
  private readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private cseq = 0;
  private waiting: { cseq: number; resolve: (r: RtspResponse) => void; reject: (e: CameraError) => void } | undefined;
  private failure: CameraError | undefined;
  private readonly timer: NodeJS.Timeout;
  private frameListener: ((channel: number, data: Buffer) => void) | undefined;
  private closeListener: ((err: CameraError) => void) | undefined;

  private constructor(private readonly opts: RtspConnectionOptions) {
    this.socket = net.connect({ host: opts.host, port: opts.port });
    this.socket.setNoDelay(true);
    this.timer = setTimeout(() => this.fail(new CameraError('EDGE_CAMERA_TIMEOUT', `${opts.what}: no answer in time`)), Math.max(0, opts.deadline - Date.now()));
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(fromSocketError(err, opts.what)));
    this.socket.on('close', () => this.fail(new CameraError('EDGE_CAMERA_CONNECT', `${opts.what}: connection closed by the camera`)));
  }

  /** Connects within the deadline. */
  static connect(opts: RtspConnectionOptions): Promise<RtspConnection> {
    const conn = new RtspConnection(opts);
    return new Promise((resolve, reject) => {
      if (conn.failure) return reject(conn.failure);
      conn.closeListener = reject;
      conn.socket.once('connect', () => {
        conn.closeListener = undefined;
        resolve(conn);
      });
    });
  }

  get failed(): CameraError | undefined {
    return this.failure;
  }

  onFrame(listener: (channel: number, data: Buffer) => void): void {
    this.frameListener = listener;
  }

  /** Called once when the connection fails or times out (after connect). */
  onClose(listener: (err: CameraError) => void): void {
    this.closeListener = listener;
    if (this.failure) listener(this.failure);
  }

  request(method: string, uri: string, headers: Record<string, string> = {}): Promise<RtspResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const cseq = ++this.cseq;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${cseq}`, `User-Agent: ${USER_AGENT}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
    return new Promise((resolve, reject) => {
      this.waiting = { cseq, resolve, reject };
    });
  }

  /** Sends a request without waiting for the answer (TEARDOWN on the way out). */
  send(method: string, uri: string, headers: Record<string, string> = {}): void {
    if (this.failure) return;
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`, `User-Agent: ${USER_AGENT}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(lines.join('\r\n') + '\r\n\r\n');
  }

  /** Closes the connection: gracefully (pending writes such as a TEARDOWN go out) unless it already failed. */
  close(): void {
    clearTimeout(this.timer);
    const graceful = !this.failure;
    if (!this.failure) this.failure = new CameraError('EDGE_CAMERA_CONNECT', `${this.opts.what}: closed`);
    this.waiting = undefined;
    if (!graceful) return;
    this.socket.end();
    this.socket.setTimeout(1000, () => this.socket.destroy());
  }

  private fail(err: CameraError): void {
    if (this.failure) return;
    this.failure = err;
    clearTimeout(this.timer);
    this.socket.destroy();
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
    this.closeListener?.(err);
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > this.opts.maxResponseBytes + 4 + 65535) {
      this.fail(new CameraError('EDGE_CAMERA_TOO_LARGE', `${this.opts.what}: more than ${this.opts.maxResponseBytes} bytes buffered`));
      return;
    }
    while (!this.failure && this.buf.length > 0) {
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4) return;
        const len = this.buf.readUInt16BE(2);
        if (this.buf.length < 4 + len) return;
        const channel = this.buf[1] as number;
        const data = Buffer.from(this.buf.subarray(4, 4 + len));
        this.buf = this.buf.subarray(4 + len);
        this.frameListener?.(channel, data);
        continue;
      }
      if (!this.parseMessage()) return;
    }
  }

  /** Parses one RTSP message at the head of the buffer; false when more bytes are needed. */
  private parseMessage(): boolean {
    const head = this.buf.subarray(0, Math.min(this.buf.length, 5)).toString('latin1');
    if (!'RTSP/'.startsWith(head) && !head.startsWith('RTSP/')) {
      this.fail(new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${this.opts.what}: not an RTSP reply`));
      return false;
    }
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.buf.length > MAX_HEADER_BYTES) this.fail(new CameraError('EDGE_CAMERA_TOO_LARGE', `${this.opts.what}: header longer than ${MAX_HEADER_BYTES} bytes`));
      return false;
    }
    const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^RTSP\/\d\.\d\s+(\d{3})\s*(.*)$/.exec(lines[0] ?? '');
    if (!status) {
      this.fail(new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${this.opts.what}: bad status line`));
      return false;
    }
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const list = headers.get(name) ?? [];
      list.push(line.slice(colon + 1).trim());
      headers.set(name, list);
    }
    const length = Number(headers.get('content-length')?.[0] ?? '0');
    if (!Number.isInteger(length) || length < 0) {
      this.fail(new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${this.opts.what}: bad Content-Length`));
      return false;
    }
    if (end + 4 + length > this.opts.maxResponseBytes) {
      this.fail(new CameraError('EDGE_CAMERA_TOO_LARGE', `${this.opts.what}: reply of ${end + 4 + length} bytes, more than the ${this.opts.maxResponseBytes} allowed`));
      return false;
    }
    if (this.buf.length < end + 4 + length) return false;
    const body = Buffer.from(this.buf.subarray(end + 4, end + 4 + length));
    this.buf = this.buf.subarray(end + 4 + length);
    const response: RtspResponse = { status: Number(status[1]), reason: (status[2] ?? '').slice(0, 64), headers, body };
    const cseq = Number(headers.get('cseq')?.[0]);
    const w = this.waiting;
    if (w && (cseq === w.cseq || !Number.isFinite(cseq))) {
      this.waiting = undefined;
      w.resolve(response);
    }
    return true;
  }
}
