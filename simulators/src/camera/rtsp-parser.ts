export interface RtspRequest {
  method: string;
  url: string;
  version: string;
  /** Header names lower-cased. */
  headers: Map<string, string>;
  body: Buffer;
}

export type RtspInput = { kind: 'request'; request: RtspRequest } | { kind: 'interleaved'; channel: number; data: Buffer } | { kind: 'bad'; reason: string };

const MAX_HEADER = 16 * 1024;
const MAX_BODY = 64 * 1024;

/**
 * Splits an RTSP byte stream into requests and interleaved binary frames ($, channel, length,
 * data: RTCP from the client). Feed bytes with push(); take complete items with next().
 */
export class RtspParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** The next complete item, or undefined when more bytes are needed. A 'bad' item means the connection should close. */
  next(): RtspInput | undefined {
    if (this.buf.length === 0) return undefined;
    if (this.buf[0] === 0x24) {
      if (this.buf.length < 4) return undefined;
      const len = this.buf.readUInt16BE(2);
      if (this.buf.length < 4 + len) return undefined;
      const item: RtspInput = { kind: 'interleaved', channel: this.buf[1] ?? 0, data: this.buf.subarray(4, 4 + len) };
      this.buf = this.buf.subarray(4 + len);
      return item;
    }
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return this.buf.length > MAX_HEADER ? { kind: 'bad', reason: 'header too long' } : undefined;
    const lines = this.buf.subarray(0, end).toString('utf8').split('\r\n');
    const m = /^([A-Z_]+) (\S+) (RTSP\/\d\.\d)$/.exec(lines[0] ?? '');
    if (!m) return { kind: 'bad', reason: `bad request line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}` };
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) return { kind: 'bad', reason: 'bad header line' };
      headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const length = Number(headers.get('content-length') ?? '0');
    if (!Number.isInteger(length) || length < 0 || length > MAX_BODY) return { kind: 'bad', reason: 'bad Content-Length' };
    if (this.buf.length < end + 4 + length) return undefined;
    const body = this.buf.subarray(end + 4, end + 4 + length);
    this.buf = this.buf.subarray(end + 4 + length);
    return { kind: 'request', request: { method: m[1] ?? '', url: m[2] ?? '', version: m[3] ?? '', headers, body } };
  }
}

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  501: 'Not Implemented',
  505: 'RTSP Version Not Supported',
};

export function formatResponse(status: number, headers: Array<[string, string | number]>, body?: string): Buffer {
  const all: Array<[string, string | number]> = [...headers];
  if (body !== undefined) all.push(['Content-Length', Buffer.byteLength(body)]);
  const head = [`RTSP/1.0 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, ...all.map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body ?? ''}`);
}
