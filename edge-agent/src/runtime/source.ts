import type { Reading } from '@cityedge/contract';
import type { LineStats } from '../poll/line-scheduler.js';

/**
 * Where readings come from and writes go: a Modbus line (one scheduler per bus), a Firmata
 * board, cameras. Each has the parts' life cycle; the device directory finds a device's source,
 * so commands and rules write or read a point without knowing which bus it is on.
 */
export interface Source {
  readonly id: string;
  readonly kind: 'modbus' | 'firmata';
  /** The devices it owns and their points, for the device directory. */
  devices(): ReadonlyArray<{ id: string; points: ReadonlyArray<{ name: string; writable?: boolean | undefined; unit?: string | undefined }> }>;
  start(): void;
  stop(): Promise<void>;
  stats(): LineStats;
  /** Writes an engineering value to a writable point (between polls on a shared bus). */
  write(deviceId: string, point: string, value: number | boolean): Promise<void>;
  /** Reads every point of a device now, outside its schedule; the readings also go out as usual. */
  readNow(deviceId: string): Promise<Reading[]>;
}
