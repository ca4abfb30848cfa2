/**
 * Turns `--device` and `--fault` flags into spec fragments, remembering which flag each part
 * came from so a problem found by the schema can name the flag rather than a spec path.
 */

export class FlagError extends Error {
  override readonly name = 'FlagError';
}

export const DEVICE_SYNTAX = '[id=]model@transport:port|path[:unit=N][:baud=N][:parity=none|even|odd][:option=value...]';
export const CAMERA_SYNTAX = 'id[:option=value...] (a value with ":" in it goes in --config)';

interface FlagEndpoint {
  id: string;
  transport: string;
  port?: unknown;
  path?: string;
  host?: string;
  baudRate?: unknown;
  parity?: string;
  devices: Array<Record<string, unknown>>;
}

/** A spec path prefix (as formatted by formatPath) and the flag it came from. */
export interface FlagOrigin {
  prefix: string;
  flag: string;
}

function coerce(value: string): unknown {
  if (value.includes(',')) return value.split(',').map((v) => coerce(v));
  if (value === 'true') return true;
  if (value === 'false') return false;
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

function endpointId(transport: string, target: string): string {
  const raw = `${transport}-${target}`.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/-+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return raw.slice(0, 64) || 'endpoint';
}

export interface CliFlags {
  device?: readonly string[];
  camera?: readonly string[];
  fault?: readonly string[];
  host?: string | undefined;
}

/**
 * Adds the devices given with --device to spec.endpoints (devices sharing transport and
 * port/path share one endpoint: one bus) and the cameras given with --camera to spec.cameras,
 * then applies --fault id=fault to a device or camera (a camera collects several).
 */
export function applyFlags(spec: { endpoints?: unknown; cameras?: unknown }, flags: CliFlags): FlagOrigin[] {
  const { device: deviceFlags = [], camera: cameraFlags = [], fault: faultFlags = [], host } = flags;
  const origins: FlagOrigin[] = [];
  const endpoints: unknown[] = Array.isArray(spec.endpoints) ? spec.endpoints : [];
  spec.endpoints = endpoints;
  const cameras: unknown[] = Array.isArray(spec.cameras) ? spec.cameras : [];
  if (cameras.length > 0 || cameraFlags.length > 0) spec.cameras = cameras;
  for (const text of cameraFlags) {
    const flag = `--camera "${text}"`;
    const [id = '', ...pairs] = text.split(':');
    if (!id || id.includes('=')) throw new FlagError(`${flag}: expected ${CAMERA_SYNTAX}`);
    const camera: Record<string, unknown> = { id };
    for (const pair of pairs) {
      const i = pair.indexOf('=');
      if (i <= 0) throw new FlagError(`${flag}: "${pair}" is not option=value`);
      camera[pair.slice(0, i)] = coerce(pair.slice(i + 1));
    }
    origins.push({ prefix: `cameras[${cameras.length}]`, flag });
    cameras.push(camera);
  }
  const byKey = new Map<string, { index: number; ep: FlagEndpoint }>();
  const usedIds = new Set<string>();
  for (const ep of endpoints) {
    for (const d of (ep as { devices?: Array<{ id?: unknown }> }).devices ?? []) if (typeof d.id === 'string') usedIds.add(d.id);
  }

  for (const text of deviceFlags) {
    const flag = `--device "${text}"`;
    const at = text.indexOf('@');
    if (at < 0) throw new FlagError(`${flag}: expected ${DEVICE_SYNTAX}`);
    const head = text.slice(0, at);
    const eq = head.indexOf('=');
    const model = eq < 0 ? head : head.slice(eq + 1);
    let id = eq < 0 ? '' : head.slice(0, eq);
    const [transport = '', target, ...pairs] = text.slice(at + 1).split(':');
    if (!model || !transport || target === undefined || target === '') throw new FlagError(`${flag}: expected ${DEVICE_SYNTAX}`);
    if (!id) {
      id = model;
      for (let n = 2; usedIds.has(id); n++) id = `${model}-${n}`;
    }
    usedIds.add(id);

    const key = `${transport}:${target}`;
    let slot = byKey.get(key);
    if (!slot) {
      const ep: FlagEndpoint = { id: endpointId(transport, target), transport, devices: [] };
      if (transport === 'serial') ep.path = target;
      else ep.port = coerce(target);
      if (host !== undefined && transport !== 'serial') ep.host = host;
      slot = { index: endpoints.length, ep };
      endpoints.push(ep);
      byKey.set(key, slot);
      origins.push({ prefix: `endpoints[${slot.index}]`, flag });
    }
    const device: Record<string, unknown> = { id, model };
    const options: Record<string, unknown> = {};
    for (const pair of pairs) {
      const i = pair.indexOf('=');
      if (i <= 0) throw new FlagError(`${flag}: "${pair}" is not key=value`);
      const k = pair.slice(0, i);
      const v = pair.slice(i + 1);
      if (k === 'unit') device.unitId = coerce(v);
      else if (k === 'baud') slot.ep.baudRate = coerce(v);
      else if (k === 'parity') slot.ep.parity = v;
      else options[k] = coerce(v);
    }
    if (Object.keys(options).length > 0) device.options = options;
    origins.push({ prefix: `endpoints[${slot.index}].devices[${slot.ep.devices.length}]`, flag });
    slot.ep.devices.push(device);
  }

  for (const text of faultFlags) {
    const flag = `--fault "${text}"`;
    const eq = text.indexOf('=');
    if (eq <= 0) throw new FlagError(`${flag}: expected deviceId=mode[:arg][@probability]`);
    const id = text.slice(0, eq);
    let found = false;
    endpoints.forEach((ep, i) => {
      ((ep as { devices?: Array<Record<string, unknown>> }).devices ?? []).forEach((d, j) => {
        if (d.id !== id) return;
        d.fault = text.slice(eq + 1);
        origins.push({ prefix: `endpoints[${i}].devices[${j}].fault`, flag });
        found = true;
      });
    });
    if (!found) {
      cameras.forEach((c, i) => {
        const cam = c as Record<string, unknown>;
        if (found || cam.id !== id) return;
        const faults = cam.fault === undefined ? [] : Array.isArray(cam.fault) ? (cam.fault as unknown[]) : [cam.fault];
        origins.push({ prefix: `cameras[${i}].fault[${faults.length}]`, flag });
        cam.fault = [...faults, text.slice(eq + 1)];
        found = true;
      });
    }
    const cameraIds = cameras.map((c) => (c as { id?: unknown }).id).filter((c): c is string => typeof c === 'string');
    const known = [...(usedIds.size ? [`devices: ${[...usedIds].join(', ')}`] : []), ...(cameraIds.length ? [`cameras: ${cameraIds.join(', ')}`] : [])];
    if (!found) throw new FlagError(`${flag}: no device or camera "${id}"${known.length ? `; ${known.join('; ')}` : ''}`);
  }
  // Most specific first, so a fault problem names --fault rather than --device.
  return origins.sort((a, b) => b.prefix.length - a.prefix.length);
}
