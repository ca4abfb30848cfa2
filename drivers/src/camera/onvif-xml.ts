import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { CameraError } from './camera-error.js';
import type { DeviceInformation, MediaProfile } from './camera-client.js';

/**
 * Reads ONVIF SOAP replies ourselves, from the raw XML the `onvif` package hands back. Its own
 * result objects are not used because its `linerase` turns every numeric-looking string into a
 * number ("5.10" firmware becomes 5.1, serial "0012" stays but "1200" becomes 1200) and dates
 * into Date objects; an inventory must keep the camera's strings exactly.
 */

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Only the predefined XML entities and character references: SOAP forbids a DTD (checked below).
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === 'Profiles' || name === 'Subcode' || name === 'Text',
});

type Node = Record<string, unknown>;

const MAX_STRING = 128;

/** Parses a SOAP envelope and returns its Body; throws EDGE_CAMERA_BAD_RESPONSE when it is not one. */
export function soapBody(xml: string, what: string): Node {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: reply carries a DTD, which SOAP forbids`);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: malformed XML (${valid.err.msg.slice(0, 80)}, line ${valid.err.line})`);
  }
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: malformed XML`, { cause: err });
  }
  const body = child(child(doc, 'Envelope'), 'Body');
  if (!isNode(body)) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: not a SOAP envelope`);
  return body;
}

export interface SoapFaultInfo {
  /** Subcode local names, outermost first, e.g. ['NotAuthorized'] or ['InvalidArgVal', 'NoProfile']. */
  subcodes: string[];
  reason: string;
}

/** The SOAP 1.2 (or 1.1) fault in a body, if any. */
export function soapFault(body: Node): SoapFaultInfo | undefined {
  const fault = child(body, 'Fault');
  if (!isNode(fault)) return undefined;
  const subcodes: string[] = [];
  let code = child(fault, 'Code');
  for (let depth = 0; depth < 8 && isNode(code); depth++) {
    const sub = first(child(code, 'Subcode'));
    const value = text(child(sub, 'Value'));
    if (value) subcodes.push(value.replace(/^.*:/, ''));
    code = sub;
  }
  const faultstring = text(child(fault, 'faultstring')); // SOAP 1.1
  const reason = text(first(child(child(fault, 'Reason'), 'Text'))) ?? faultstring ?? '';
  return { subcodes, reason: cap(reason) ?? '' };
}

/** Whether a fault means the credentials (or their timestamp) were rejected. */
export function isAuthFault(fault: SoapFaultInfo): boolean {
  return fault.subcodes.some((s) => /NotAuthorized|FailedAuthentication|InvalidSecurity/i.test(s)) || /not\s*authori[sz]ed|authentication/i.test(fault.reason);
}

/** The response element of a call, e.g. GetProfilesResponse; throws on a missing element. */
export function responseOf(body: Node, name: string, what: string): Node {
  const res = child(body, name);
  if (res === '') return {};
  if (!isNode(res)) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: reply has no ${name}`);
  return res;
}

/** Camera UTC time from GetSystemDateAndTimeResponse, ms since the epoch (second resolution). */
export function parseSystemDateAndTime(res: Node, what: string): number {
  const sdt = child(res, 'SystemDateAndTime');
  const dt = child(sdt, 'UTCDateTime') ?? child(sdt, 'LocalDateTime');
  const n = (parent: unknown, name: string): number => {
    const v = Number(text(child(parent, name)));
    if (!Number.isInteger(v)) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: bad or missing ${name}`);
    return v;
  };
  const date = child(dt, 'Date');
  const time = child(dt, 'Time');
  const ms = Date.UTC(n(date, 'Year'), n(date, 'Month') - 1, n(date, 'Day'), n(time, 'Hour'), n(time, 'Minute'), n(time, 'Second'));
  if (!Number.isFinite(ms)) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: invalid date`);
  return ms;
}

export function parseDeviceInformation(res: Node): DeviceInformation {
  const s = (name: string) => cap(text(child(res, name)));
  return {
    manufacturer: s('Manufacturer'),
    model: s('Model'),
    firmwareVersion: s('FirmwareVersion'),
    serialNumber: s('SerialNumber'),
    hardwareId: s('HardwareId'),
  };
}

export function parseProfiles(res: Node, what: string): MediaProfile[] {
  const list = child(res, 'Profiles');
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: unexpected Profiles`);
  const out: MediaProfile[] = [];
  for (const p of list) {
    const token = cap(text(child(p, '@token')));
    if (!token) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: a profile without a token`);
    const vec = child(p, 'VideoEncoderConfiguration');
    const num = (v: unknown): number | undefined => {
      const t = text(v);
      const x = t === undefined ? NaN : Number(t);
      return Number.isFinite(x) && x >= 0 ? x : undefined;
    };
    const profile: MediaProfile = { token };
    const name = cap(text(child(p, 'Name')));
    if (name) profile.name = name;
    const encoding = cap(text(child(vec, 'Encoding')));
    if (encoding) profile.encoding = encoding;
    const width = num(child(child(vec, 'Resolution'), 'Width'));
    const height = num(child(child(vec, 'Resolution'), 'Height'));
    if (width !== undefined && height !== undefined) Object.assign(profile, { width, height });
    const fps = num(child(child(vec, 'RateControl'), 'FrameRateLimit'));
    if (fps !== undefined) profile.fps = fps;
    out.push(profile);
  }
  return out;
}

/** MediaUri/Uri of GetStreamUriResponse or GetSnapshotUriResponse. */
export function parseMediaUri(res: Node, what: string): string {
  const uri = text(child(child(res, 'MediaUri'), 'Uri'));
  if (!uri) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: reply has no MediaUri/Uri`);
  if (uri.length > 2048) throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: URI longer than 2048 characters`);
  return uri;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(v: unknown, name: string): unknown {
  return isNode(v) ? v[name] : undefined;
}

function first(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}

/** Text content of an element (plain string, or #text when it has attributes). */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isNode(v) && typeof v['#text'] === 'string') return v['#text'];
  if (isNode(v) && (typeof v['#text'] === 'number' || typeof v['#text'] === 'boolean')) return String(v['#text']);
  return undefined;
}

function cap(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  return t.length > MAX_STRING ? t.slice(0, MAX_STRING) : t || undefined;
}
