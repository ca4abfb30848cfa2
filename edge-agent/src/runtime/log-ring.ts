import { Writable } from 'node:stream';

/** What must never leave the gateway in a log line: credentials in URLs, passwords and tokens in text. */
const SECRETS: ReadonlyArray<[RegExp, string]> = [
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:"]+:[^\s/@"]+@/gi, '$1[redacted]@'],
  [/("(?:password|passwd|pass|token|secret|code|authorization)"\s*:\s*)"[^"]*"/gi, '$1"[redacted]"'],
  [/\b(password|passwd|token|secret)=([^\s&"]+)/gi, '$1=[redacted]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 [redacted]'],
];

export function redactSecrets(line: string): string {
  let out = line;
  for (const [re, to] of SECRETS) out = out.replace(re, to);
  return out;
}

/**
 * The agent's last log lines, for the `logs.tail` command: a second pino destination that keeps
 * at most `maxLines` lines and `maxBytes` bytes in memory, secrets redacted as they come in
 * (pino's own redaction covers known fields; this catches credentials inside messages).
 */
export class LogRing extends Writable {
  private readonly lines: string[] = [];
  private bytes = 0;

  constructor(
    private readonly maxLines = 1000,
    private readonly maxBytes = 512 * 1024,
  ) {
    super({ decodeStrings: false });
  }

  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const raw of chunk.toString().split('\n')) {
      if (raw === '') continue;
      const line = redactSecrets(raw);
      this.lines.push(line);
      this.bytes += line.length;
      while (this.lines.length > this.maxLines || this.bytes > this.maxBytes) this.bytes -= (this.lines.shift() as string).length;
    }
    done();
  }

  /** The newest `n` lines, oldest first. */
  tail(n: number): string[] {
    return this.lines.slice(-n);
  }
}
