import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { freePort } from './wait.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


/**
 * A private Mosquitto (the real Debian binary) on a free loopback port, so a test can stop and
 * restart the broker without touching the machine's own service on 1883. Fails loudly when the
 * binary is missing: the integration suite never skips.
 */
export class MosquittoProcess {
  private proc: ChildProcess | undefined;
  port = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'cityedge-mosq-'));
  output = '';

  constructor(private readonly extraConfig = '') {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!this.port) this.port = await freePort();
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${this.port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n${this.extraConfig}\n`);
    const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`cannot run mosquitto (install it: apt-get install mosquitto): ${err.message}`)));
      proc.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${this.output}`)));
    });
    await Promise.race([failed, this.waitListening()]);
    return this;
  }

  private async waitListening(): Promise<void> {
    const { connect } = await import('node:net');
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(this.port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not listen on ${this.port}: ${this.output}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
  }
}
