import { ModbusError, type ModbusTransport } from '@cityedge/drivers';
import type { ResolvedLine } from '@cityedge/contract';

/** What a scan needs of the line it runs on. */
export interface ScanLine {
  readonly id: string;
  readonly config: ResolvedLine['config'];
  whenIdle<T>(costMs: number, fn: (transport: ModbusTransport, gapMs: number) => Promise<T>, settings?: Partial<ResolvedLine['config']>): Promise<T>;
  /** How long the line can be lent out at once without making its polls late (its shortest poll interval). */
  slotBudgetMs(): number;
}

export interface ScanOptions {
  from: number;
  to: number;
  /** Serial lines: other baud rates to try besides the line's own. */
  baudRates?: readonly number[] | undefined;
  /** Per probe; default the line's timeout. */
  timeoutMs?: number | undefined;
  /** The scan ends by then with what it found. */
  deadlineMs: number;
  now: () => number;
  progress: (p: { done: number; total: number; found: ScanFinding[] }) => void;
  /** Probes per progress report (default 8). */
  chunk?: number;
}

export interface ScanFinding {
  unitId: number;
  baudRate?: number;
  /** How it answered: registers, or a Modbus exception (it is there, the register is not). */
  answer: 'registers' | `exception ${number}` | 'garbled';
}

export interface ScanResult {
  line: string;
  found: ScanFinding[];
  probed: number;
  total: number;
  complete: boolean;
  baudRates: number[];
}

/**
 * Looks for Modbus units on a line: one FC03 read of holding register 0 per unit id (a reply, an
 * exception or a garbled frame all mean something answers there; silence, or a Modbus TCP
 * gateway's exception 0x0A/0x0B, means nothing does),
 * between the line's polls (never making them late; see LineScheduler.whenIdle). On serial lines
 * other baud rates are tried in short slots after the line's own, the port switched back between
 * slots. Ends at the deadline with what it found (complete: false).
 */
export async function scanLine(line: ScanLine, o: ScanOptions): Promise<ScanResult> {
  const serial = line.config.type === 'rtu';
  const own = serial ? line.config.baudRate : undefined;
  const bauds: Array<number | undefined> = [own, ...(serial ? (o.baudRates ?? []).filter((b) => b !== own) : [])];
  const ids: number[] = [];
  for (let u = o.from; u <= o.to; u++) ids.push(u);
  const total = ids.length * bauds.length;
  const timeoutMs = o.timeoutMs ?? line.config.timeoutMs ?? 500;
  const chunk = o.chunk ?? 8;
  const deadline = o.now() + o.deadlineMs;
  const found: ScanFinding[] = [];
  let probed = 0;
  for (const baud of bauds) {
    for (let i = 0; i < ids.length; i += chunk) {
      if (o.now() >= deadline) return { line: line.id, found, probed, total, complete: false, baudRates: bauds.filter((b): b is number => b !== undefined) };
      const batch = ids.slice(i, i + chunk);
      const settings = baud === undefined || baud === own ? undefined : { baudRate: baud };
      // One probe per slot at the line's own rate; at another rate as many as fit in the line's
      // slot budget (switching the port costs, but a long slot would make the polls late).
      const perSlot = settings ? Math.max(1, Math.floor(line.slotBudgetMs() / (timeoutMs + 20))) : 1;
      const slots: number[][] = [];
      for (let k = 0; k < batch.length; k += perSlot) slots.push(batch.slice(k, k + perSlot));
      for (const slot of slots) {
        const hits = await line.whenIdle(slot.length * (timeoutMs + 20), (t, gapMs) => probeUnits(t, slot, timeoutMs, gapMs), settings);
        for (const h of hits) found.push({ ...h, ...(serial && baud !== undefined && { baudRate: baud }) });
        probed += slot.length;
      }
      o.progress({ done: probed, total, found: [...found] });
    }
  }
  return { line: line.id, found, probed, total, complete: true, baudRates: bauds.filter((b): b is number => b !== undefined) };
}

async function probeUnits(t: ModbusTransport, ids: readonly number[], timeoutMs: number, gapMs: number): Promise<Array<Omit<ScanFinding, 'baudRate'>>> {
  const hits: Array<Omit<ScanFinding, 'baudRate'>> = [];
  for (const unitId of ids) {
    try {
      await t.readRegisters(unitId, 'holding', 0, 1, timeoutMs);
      hits.push({ unitId, answer: 'registers' });
    } catch (err) {
      // A gateway's 0x0A/0x0B (path unavailable, target did not answer) means nobody is there.
      if (err instanceof ModbusError && err.code === 'EDGE_MODBUS_EXCEPTION') {
        if (err.exceptionCode !== 0x0a && err.exceptionCode !== 0x0b) hits.push({ unitId, answer: `exception ${err.exceptionCode ?? 0}` });
      }
      else if (err instanceof ModbusError && (err.code === 'EDGE_MODBUS_CRC' || err.code === 'EDGE_MODBUS_FRAME')) hits.push({ unitId, answer: 'garbled' });
      else if (err instanceof ModbusError && err.code === 'EDGE_MODBUS_PORT') throw err;
    }
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  return hits;
}
