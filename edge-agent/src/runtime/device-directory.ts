import type { Reading } from '@cityedge/contract';
import { CommandError, EdgeError, edgeErrorCode } from '@cityedge/contract';
import type { Source } from './source.js';

/** A coded refusal or failure of a write or read through the directory. */
export class DirectoryError extends EdgeError {
  override readonly name = 'DirectoryError';
}

/** What the directory needs to know of a device: its source and its points. */
export interface DirectoryEntry {
  source: Source;
  points: ReadonlyArray<{ name: string; writable?: boolean | undefined; unit?: string | undefined }>;
}

/**
 * Maps device ids to the source that owns them, so a command or a rule writes or reads a point
 * without knowing which bus (or board) it is on. Rebuilt when the sources change; checks the
 * device and the point before anything goes on a bus, with coded errors.
 */
export class DeviceDirectory {
  private entries = new Map<string, DirectoryEntry>();

  /** Replaces the map: every device of every source. */
  rebuild(sources: Iterable<{ source: Source; devices: ReadonlyArray<{ id: string; points: DirectoryEntry['points'] }> }>): void {
    const next = new Map<string, DirectoryEntry>();
    for (const { source, devices } of sources) for (const d of devices) next.set(d.id, { source, points: d.points });
    this.entries = next;
  }

  has(deviceId: string): boolean {
    return this.entries.has(deviceId);
  }

  /** The device's point, or a coded error naming what is missing. */
  point(deviceId: string, point: string): DirectoryEntry['points'][number] {
    const e = this.entry(deviceId);
    const p = e.points.find((x) => x.name === point);
    if (!p) throw new DirectoryError(CommandError.unknownTarget, `device "${deviceId}" has no point "${point}" (it has ${e.points.map((x) => x.name).join(', ') || 'none'})`);
    return p;
  }

  async write(deviceId: string, point: string, value: number | boolean): Promise<void> {
    const e = this.entry(deviceId);
    const p = this.point(deviceId, point);
    if (!p.writable) throw new DirectoryError(CommandError.notWritable, `point "${point}" of device "${deviceId}" is not writable`);
    try {
      await e.source.write(deviceId, point, value);
    } catch (err) {
      throw failed(err, `writing ${deviceId}.${point}`);
    }
  }

  async readNow(deviceId: string): Promise<Reading[]> {
    const e = this.entry(deviceId);
    try {
      return await e.source.readNow(deviceId);
    } catch (err) {
      throw failed(err, `reading ${deviceId}`);
    }
  }

  private entry(deviceId: string): DirectoryEntry {
    const e = this.entries.get(deviceId);
    if (!e) throw new DirectoryError(CommandError.unknownTarget, `no device "${deviceId}" on this gateway`);
    return e;
  }
}

/** A bus error keeps its own code (EDGE_MODBUS_TIMEOUT, EDGE_VALUE_RANGE...); anything else is EDGE_CMD_FAILED. */
function failed(err: unknown, what: string): DirectoryError {
  const code = edgeErrorCode(err) ?? CommandError.failed;
  return new DirectoryError(code, `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
