import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** WS-Discovery 2005/04 as ONVIF uses it: a SOAP 1.2 Probe over UDP, ProbeMatches back by unicast. */
export const WS_DISCOVERY_MULTICAST = '239.255.255.250';
export const WS_DISCOVERY_PORT = 3702;

export interface WsDiscoveryOptions {
  /** Unicast targets. */
  targets?: readonly { host: string; port?: number }[];
  /** Interface names (e.g. eth0): a Probe goes to the multicast group from each one's IPv4 address. */
  interfaces?: readonly string[];
  /** How long replies are collected. */
  timeoutMs: number;
  /** Multicast group and port; overridable for tests. */
  multicast?: { address: string; port: number };
  /** Probe Types; default dn:NetworkVideoTransmitter. */
  types?: string;
  /** Devices kept at most (the rest are counted as dropped). */
  maxDevices?: number;
}

export interface DiscoveredDevice {
  /** EndpointReference address, e.g. urn:uuid:... */
  epr: string;
  types: string[];
  scopes: string[];
  xaddrs: string[];
  metadataVersion: number | undefined;
  /** "address:port" the ProbeMatch came from. */
  from: string;
  /** From the onvif://www.onvif.org/name/..., /hardware/..., /location/... scopes (URI-decoded). */
  name?: string;
  hardware?: string;
  location?: string;
}

export interface DiscoveryResult {
  devices: DiscoveredDevice[];
  /** Replies dropped: malformed, not a ProbeMatch, not answering our Probe, over the cap. */
  dropped: number;
  /** Interfaces or targets that could not be used, with why. */
  problems: string[];
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => name === 'ProbeMatch',
});

export function probeMessage(messageId: string, types = 'dn:NetworkVideoTransmitter'): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
    '<s:Header><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>' +
    `<a:MessageID>${messageId}</a:MessageID>` +
    '<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>' +
    '<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>' +
    `<s:Body><d:Probe><d:Types>${types}</d:Types></d:Probe></s:Body></s:Envelope>`
  );
}

/**
 * Parses a ProbeMatches datagram. Undefined when it is malformed, is not a ProbeMatches, or
 * answers another Probe (RelatesTo present and not one of ours).
 */
export function parseProbeMatches(xml: string, from: string, messageIds: ReadonlySet<string>): DiscoveredDevice[] | undefined {
  if (xml.length > 65_536 || /<!DOCTYPE|<!ENTITY/i.test(xml) || XMLValidator.validate(xml) !== true) return undefined;
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch {
    return undefined;
  }
  const env = at(doc, 'Envelope');
  const relatesTo = str(at(env, 'Header', 'RelatesTo'));
  if (relatesTo !== undefined && !messageIds.has(relatesTo)) return undefined;
  const matches = at(env, 'Body', 'ProbeMatches', 'ProbeMatch');
  if (!Array.isArray(matches)) return undefined;
  const out: DiscoveredDevice[] = [];
  for (const m of matches.slice(0, 64) as unknown[]) {
    const epr = str(at(m, 'EndpointReference', 'Address'));
    if (!epr || epr.length > 256) continue;
    const list = (v: unknown) => (str(v) ?? '').split(/\s+/).filter((x) => x.length > 0 && x.length <= 512).slice(0, 64);
    const scopes = list(at(m, 'Scopes'));
    const device: DiscoveredDevice = {
      epr,
      types: list(at(m, 'Types')),
      scopes,
      xaddrs: list(at(m, 'XAddrs')).filter((x) => /^https?:\/\//i.test(x)),
      metadataVersion: numberOr(at(m, 'MetadataVersion')),
      from,
    };
    for (const key of ['name', 'hardware', 'location'] as const) {
      const scope = scopes.find((s) => s.toLowerCase().startsWith(`onvif://www.onvif.org/${key}/`));
      if (scope) device[key] = decode(scope.slice(`onvif://www.onvif.org/${key}/`.length)).slice(0, 128);
    }
    out.push(device);
  }
  return out;
}

/**
 * Sends one Probe to each unicast target and to the multicast group on each named interface,
 * collects ProbeMatches for `timeoutMs`, drops malformed or foreign replies, and dedupes by
 * EndpointReference (the first reply wins). Never rejects: problems are reported in the result.
 */
export async function wsDiscover(opts: WsDiscoveryOptions): Promise<DiscoveryResult> {
  const devices = new Map<string, DiscoveredDevice>();
  const problems: string[] = [];
  const messageIds = new Set<string>();
  let dropped = 0;
  const sockets: dgram.Socket[] = [];
  const max = opts.maxDevices ?? 1000;
  const mc = opts.multicast ?? { address: WS_DISCOVERY_MULTICAST, port: WS_DISCOVERY_PORT };

  const open = async (bindAddress: string | undefined): Promise<dgram.Socket | undefined> => {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    socket.on('error', (err) => problems.push(`socket ${bindAddress ?? '0.0.0.0'}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    socket.on('message', (msg, rinfo) => {
      const found = parseProbeMatches(msg.toString('utf8'), `${rinfo.address}:${rinfo.port}`, messageIds);
      if (!found) {
        dropped++;
        return;
      }
      for (const d of found) {
        if (devices.has(d.epr)) continue;
        if (devices.size >= max) dropped++;
        else devices.set(d.epr, d);
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ port: 0, ...(bindAddress && { address: bindAddress }) }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      problems.push(`cannot bind ${bindAddress ?? '0.0.0.0'}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return undefined;
    }
    sockets.push(socket);
    return socket;
  };
  const send = (socket: dgram.Socket, host: string, port: number) => {
    const id = `urn:uuid:${randomUUID()}`;
    messageIds.add(id);
    socket.send(probeMessage(id, opts.types), port, host, (err) => {
      if (err) problems.push(`send to ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
  };

  try {
    if (opts.targets?.length) {
      const socket = await open(undefined);
      if (socket) for (const t of opts.targets) send(socket, t.host, t.port ?? WS_DISCOVERY_PORT);
    }
    const ifaces = networkInterfaces();
    for (const name of opts.interfaces ?? []) {
      const v4 = ifaces[name]?.find((a) => a.family === 'IPv4');
      if (!v4) {
        problems.push(`interface ${name}: ${ifaces[name] ? 'has no IPv4 address' : 'not found'}`);
        continue;
      }
      const socket = await open(v4.address);
      if (!socket) continue;
      try {
        socket.setMulticastInterface(v4.address);
        socket.setMulticastTTL(1);
        socket.setMulticastLoopback(true);
      } catch (err) {
        problems.push(`interface ${name}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        continue;
      }
      send(socket, mc.address, mc.port);
    }
    if (sockets.length > 0) await new Promise((r) => setTimeout(r, opts.timeoutMs));
  } finally {
    for (const s of sockets) s.close();
  }
  return { devices: [...devices.values()], dropped, problems };
}

function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) cur = cur !== null && typeof cur === 'object' && !Array.isArray(cur) ? (cur as Record<string, unknown>)[key] : undefined;
  return cur;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object' && typeof (v as Record<string, unknown>)['#text'] === 'string') return ((v as Record<string, unknown>)['#text'] as string).trim() || undefined;
  return undefined;
}

function numberOr(v: unknown): number | undefined {
  const n = Number(str(v));
  return Number.isFinite(n) ? n : undefined;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
