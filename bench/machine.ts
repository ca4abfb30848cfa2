import { arch, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';

export interface MachineFacts {
  node: string;
  platform: string;
  cpuModel: string;
  cores: number;
  memoryMb: number;
  freeMemoryMb: number;
  /** File system type of the temp directory, where the outbox files go. */
  tmpFs: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews the figures. */
  loadAverage: number[];
  sqlite?: string;
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    freeMemoryMb: Math.round(freemem() / 2 ** 20),
    tmpFs: tmpFsType(),
    loadAverage: loadAverageNow(),
  };
}

export function loadAverageNow(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

function tmpFsType(): string {
  const dir = tmpdir();
  try {
    const out = execFileSync('df', ['-PT', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const fields = out.trim().split('\n')[1]?.split(/\s+/);
    if (fields?.[1]) return `${dir} on ${fields[1]} (${fields[0]})`;
  } catch {
    // df missing: fall back to the magic number
  }
  try {
    return `${dir} (statfs type 0x${statfsSync(dir).type.toString(16)})`;
  } catch {
    return dir;
  }
}

export function formatMachine(m: MachineFacts): string {
  return [
    `node      ${m.node} on ${m.platform}`,
    `cpu       ${m.cpuModel}, ${m.cores} cores`,
    `memory    ${m.memoryMb} MB (${m.freeMemoryMb} MB free)`,
    `temp dir  ${m.tmpFs}${m.sqlite ? `, SQLite ${m.sqlite}` : ''}`,
    `load avg  ${m.loadAverage.join(' ')} (1/5/15 min) at start`,
  ].join('\n');
}
