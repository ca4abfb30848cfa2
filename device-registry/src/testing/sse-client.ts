import { request, type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  event: string;
  data: any;
}

/**
 * A minimal Server-Sent Events client over node:http for tests and the bench: collects the
 * events (JSON data) and comments it reads; `pause()` stops reading, as a slow client would.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  status = 0;
  closed = false;
  private buffer = '';
  private req: ClientRequest | undefined;
  private res: IncomingMessage | undefined;

  private constructor(private readonly onEvent?: (e: SseEvent) => void) {}

  /** Opens the stream; resolves once the answer's head arrived (with its status). */
  static open(url: string, headers: Record<string, string>, onEvent?: (e: SseEvent) => void): Promise<SseClient> {
    const c = new SseClient(onEvent);
    return new Promise((resolve, reject) => {
      c.req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.feed(chunk));
        res.on('close', () => (c.closed = true));
        res.on('error', () => (c.closed = true));
        resolve(c);
      });
      c.req.on('error', (err) => (c.res ? (c.closed = true) : reject(err)));
      c.req.end();
    });
  }

  /** The body read so far of a non-200 answer (JSON error), once it ended. */
  body(): string {
    return this.buffer;
  }

  of(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req?.destroy();
    this.closed = true;
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    if (this.status !== 200) return;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
        else if (line.startsWith('retry: ')) this.retry = Number(line.slice(7));
      }
      if (data.length > 0) {
        const e = { event, data: JSON.parse(data.join('\n')) };
        this.events.push(e);
        this.onEvent?.(e);
      }
    }
  }
}
