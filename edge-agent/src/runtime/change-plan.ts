import { isDeepStrictEqual } from 'node:util';
import type { FirmataLineConfig, ForwardingConfig, ModbusLineConfig, ResolvedConfig, ResolvedDevice, ResolvedFirmataLine, ResolvedLine } from '@cityedge/contract';

/**
 * What changes between the configuration running and the next one, keyed by id, decided once
 * and purely here; the runtime then applies it part by part. Equality is structural (a
 * reordered document or a default written out changes nothing), and each part says how it can
 * change: in place, rebuilt, or only at the next start.
 */
export interface ChangePlan {
  lines: {
    /** New line ids: a scheduler is built and started. */
    add: ResolvedLine[];
    /** Line ids gone: the scheduler stops and closes its port. */
    remove: string[];
    /** The endpoint changed (type, port, serial settings, host): stopped, rebuilt, started. */
    rebuild: ResolvedLine[];
    /** Same endpoint, other settings or devices: changed in place, pollers of unchanged devices kept. */
    update: Array<{ line: ResolvedLine; devices: DeviceChanges }>;
    /** Unchanged. */
    keep: string[];
  };
  /** Firmata boards by line id: a board whose line changed in any way is reconnected with the new setup. */
  boards: { add: ResolvedFirmataLine<FirmataLineConfig>[]; remove: string[]; rebuild: ResolvedFirmataLine<FirmataLineConfig>[]; keep: string[] };
  /** The MQTT session: `reconnect` for the broker and identity, `update` for what applies in place. */
  forwarding: 'keep' | 'update' | 'reconnect';
  /** Camera probing: rebuilt when anything in it changed. */
  cameras: 'keep' | 'rebuild';
  /** The rule engine: rebuilt when any rule changed (its state is kept by rule id). */
  rules: 'keep' | 'rebuild';
  /** Settings that take effect at the next start (the outbox file, the status server's address). */
  restartNeeded: string[];
  /** Settings applied in place with no part rebuilt (log level, OTA window). */
  inPlace: string[];
}

export interface DeviceChanges {
  add: string[];
  remove: string[];
  change: string[];
}

/** Line settings that define the wire: a change closes the port and opens another. */
const ENDPOINT_KEYS = ['type', 'path', 'baudRate', 'parity', 'dataBits', 'stopBits', 'host', 'port'] as const;

/** Forwarding settings the session applies without reconnecting. */
const FORWARDING_IN_PLACE: ReadonlyArray<keyof ForwardingConfig> = ['maxBatchReadings', 'inflightWindow', 'reconnectMinMs', 'reconnectMaxMs', 'statusIntervalMs'];

export function planChanges(current: ResolvedConfig, next: ResolvedConfig): ChangePlan {
  const plan: ChangePlan = {
    lines: { add: [], remove: [], rebuild: [], update: [], keep: [] },
    boards: { add: [], remove: [], rebuild: [], keep: [] },
    forwarding: planForwarding(current.config.forwarding, next.config.forwarding),
    cameras: isDeepStrictEqual(current.config.cameras, next.config.cameras) ? 'keep' : 'rebuild',
    rules: isDeepStrictEqual(current.config.rules, next.config.rules) ? 'keep' : 'rebuild',
    restartNeeded: [],
    inPlace: [],
  };
  const before = new Map(current.lines.map((l) => [l.config.id, l]));
  for (const line of next.lines) {
    const old = before.get(line.config.id);
    before.delete(line.config.id);
    if (!old) plan.lines.add.push(line);
    else if (!sameEndpoint(old.config, line.config)) plan.lines.rebuild.push(line);
    else if (isDeepStrictEqual(withoutDevices(old.config), withoutDevices(line.config)) && sameDevices(old.devices, line.devices)) plan.lines.keep.push(line.config.id);
    else plan.lines.update.push({ line, devices: planDevices(old.devices, line.devices) });
  }
  plan.lines.remove = [...before.keys()];
  const boards = new Map(current.firmataLines.map((l) => [l.config.id, l]));
  for (const board of next.firmataLines) {
    const old = boards.get(board.config.id);
    boards.delete(board.config.id);
    if (!old) plan.boards.add.push(board);
    else if (isDeepStrictEqual(old, board)) plan.boards.keep.push(board.config.id);
    else plan.boards.rebuild.push(board);
  }
  plan.boards.remove = [...boards.keys()];

  const c = current.config;
  const n = next.config;
  for (const key of ['path', 'maxRows', 'maxBytes', 'telemetryOverflow', 'commitIntervalMs'] as const) if (c.buffer[key] !== n.buffer[key]) plan.restartNeeded.push(`buffer.${key}`);
  if (!isDeepStrictEqual(c.http, n.http)) plan.restartNeeded.push('http');
  if (c.log.level !== n.log.level) plan.inPlace.push('log.level');
  if (c.ota.healthWindowMs !== n.ota.healthWindowMs) plan.inPlace.push('ota.healthWindowMs');
  return plan;
}

/** True when a plan changes nothing at all. */
export function isEmptyPlan(p: ChangePlan): boolean {
  const l = p.lines;
  const b = p.boards;
  return l.add.length + l.remove.length + l.rebuild.length + l.update.length + b.add.length + b.remove.length + b.rebuild.length === 0 && p.forwarding === 'keep' && p.cameras === 'keep' && p.rules === 'keep' && p.restartNeeded.length === 0 && p.inPlace.length === 0;
}

/** Ids of the lines a plan adds, rebuilds or changes. */
export function changedLineIds(p: ChangePlan): Set<string> {
  return new Set([...p.lines.add, ...p.lines.rebuild, ...p.lines.update.map((u) => u.line)].map((l) => l.config.id));
}

function planForwarding(a: ForwardingConfig, b: ForwardingConfig): ChangePlan['forwarding'] {
  if (isDeepStrictEqual(a, b)) return 'keep';
  const strip = (f: ForwardingConfig) => Object.fromEntries(Object.entries(f).filter(([k]) => !FORWARDING_IN_PLACE.includes(k as keyof ForwardingConfig)));
  return isDeepStrictEqual(strip(a), strip(b)) ? 'update' : 'reconnect';
}

function sameEndpoint(a: ModbusLineConfig, b: ModbusLineConfig): boolean {
  const pick = (l: ModbusLineConfig) => ENDPOINT_KEYS.map((k) => (l as unknown as Record<string, unknown>)[k]);
  return isDeepStrictEqual(pick(a), pick(b));
}

function withoutDevices(l: ModbusLineConfig): Omit<ModbusLineConfig, 'devices'> {
  const { devices: _devices, ...rest } = l;
  return rest;
}

function sameDevices(a: readonly ResolvedDevice[], b: readonly ResolvedDevice[]): boolean {
  const c = planDevices(a, b);
  return c.add.length + c.remove.length + c.change.length === 0;
}

function planDevices(before: readonly ResolvedDevice[], after: readonly ResolvedDevice[]): DeviceChanges {
  const old = new Map(before.map((d) => [d.id, d]));
  const changes: DeviceChanges = { add: [], remove: [], change: [] };
  for (const d of after) {
    const o = old.get(d.id);
    old.delete(d.id);
    if (!o) changes.add.push(d.id);
    else if (!isDeepStrictEqual(o, d)) changes.change.push(d.id);
  }
  changes.remove = [...old.keys()];
  return changes;
}
