import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * An HTTP agent that lets its owner bound what the `onvif` package does on the wire. `onvif`
 * has only an idle socket timeout (a camera trickling one byte a minute never times out) and
 * buffers a reply of any size before parsing it. Passing this agent to its Cam gives us every
 * socket it opens: we count the bytes each one receives and destroy it past the cap, and we
 * can destroy them all when our own hard deadline passes.
 */
export class GuardedAgent extends http.Agent {
  private readonly open = new Set<net.Socket>();

  constructor(
    private readonly maxBytesPerSocket: number,
    private readonly onOverflow: (bytes: number) => void,
    /**
     * Called (on the next turn) when the last open socket has closed. `onvif` ignores a
     * connection that closes mid-reply and would wait for its timeout; a reply that completed
     * has been handed over by then, so a call still waiting lost its connection.
     */
    private readonly onIdle: (tag: number) => void = () => undefined,
    /** Labels each socket with the owner's current call, passed back to onIdle. */
    private readonly tag: () => number = () => 0,
  ) {
    super({ keepAlive: false });
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    const socket = net.createConnection(options as net.NetConnectOpts);
    const tag = this.tag();
    this.open.add(socket);
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > this.maxBytesPerSocket) {
        socket.destroy();
        this.onOverflow(received);
      }
    });
    socket.once('close', () => {
      this.open.delete(socket);
      setImmediate(() => {
        if (this.open.size === 0) this.onIdle(tag);
      });
    });
    return socket;
  }

  /** Destroys every socket still open; the agent stays usable for new requests. */
  destroySockets(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
  }
}
