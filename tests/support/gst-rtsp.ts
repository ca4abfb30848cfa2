import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The system python, where Debian's python3-gi lives (a pyenv or venv python on PATH lacks it). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./gst-rtsp-server.py', import.meta.url));

export interface GstRtspOptions {
  /** 0 (default) lets the server pick a free port. */
  port?: number;
  path?: string;
  width?: number;
  height?: number;
  auth?: { method: 'basic' | 'digest'; user: string; password: string };
}

/**
 * GStreamer's RTSP server (tests/support/gst-rtsp-server.py) serving an H.264 test stream, as
 * a child process of the test. Rejects with what is missing when GStreamer or its Python
 * bindings are not installed (.ci/run installs them): integration tests fail, never skip.
 */
export class GstRtspServer {
  private constructor(
    private readonly child: ChildProcess,
    /** rtsp://127.0.0.1:<port><path>, no credentials. */
    readonly url: string,
  ) {}

  get port(): number {
    return Number(new URL(this.url).port);
  }

  static start(opts: GstRtspOptions = {}): Promise<GstRtspServer> {
    const args = [SCRIPT, '--port', String(opts.port ?? 0), '--path', opts.path ?? '/cam', '--width', String(opts.width ?? 320), '--height', String(opts.height ?? 240)];
    if (opts.auth) args.push('--auth', opts.auth.method, '--user', opts.auth.user, '--password', opts.auth.password);
    // stdin stays an open pipe: the server quits when it closes, so it never outlives the test run.
    const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => fail(new Error(`GStreamer RTSP server did not start within 20 s: ${err.trim()}`)), 20_000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(e);
      };
      child.once('error', (e) => fail(new Error(`cannot run ${PYTHON} (${e.message}); apt-get install python3-gi gir1.2-gst-rtsp-server-1.0`)));
      child.once('exit', (code) => fail(new Error(`GStreamer RTSP server exited with ${code}: ${err.trim()}`)));
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        // The whole line: a chunk may end in the middle of the URL.
        const ready = /^READY (\S+)\r?\n/m.exec(out);
        if (!ready) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(new GstRtspServer(child, ready[1] as string));
      });
    });
  }

  /** The URL with credentials in it, for clients (ffmpeg) that take them only that way. */
  urlWith(user: string, password: string): string {
    return this.url.replace('rtsp://', `rtsp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@`);
  }

  /** SIGTERM, then SIGKILL if it has not exited after 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const force = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(force);
    this.child.stdin?.destroy();
  }
}
