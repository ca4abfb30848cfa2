import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';

/**
 * A virtual serial cable: two pseudo-terminals joined by socat, so a simulator on one end and
 * the agent's real serial transport on the other exchange RTU frames through the kernel's tty
 * layer, as over an RS-485 adapter.
 */
export interface PtyPair {
  /** The end the simulated devices open. */
  readonly devicePath: string;
  /** The end the agent opens (its line's `path`): the pseudo-terminal under /dev/pts. */
  readonly hostPath: string;
  close(): Promise<void>;
}

export function socatAvailable(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

export async function openPtyPair(devicePath: string, hostPath: string, timeoutMs = 5000): Promise<PtyPair> {
  const proc: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${hostPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<never>((_, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot run socat (apt-get install socat): ${err.message}`)));
    proc.once('exit', (code) => reject(new Error(`socat exited with ${code}: ${stderr.trim()}`)));
  });
  const ready = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!(existsSync(devicePath) && existsSync(hostPath))) {
      if (Date.now() > deadline) throw new Error(`socat did not create ${devicePath} and ${hostPath} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await Promise.race([ready, exited]);
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  exited.catch(() => undefined);
  return {
    devicePath,
    // The pseudo-terminal itself (/dev/pts/N), not socat's link to it: an agent accepts serial
    // devices under /dev/ only (contract SerialPath).
    hostPath: realpathSync(hostPath),
    close: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.kill('SIGTERM');
      await done;
    },
  };
}
