import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Random } from '../random.js';
import type { CameraState } from './camera-state.js';
import { scopesOf } from './onvif-device.js';
import { NS } from './soap.js';
import { child, esc, parseXml, resolveQName } from './xml.js';

const PROBE_ACTION = `${NS.wsd}/Probe`;
const MATCHES_ACTION = `${NS.wsd}/ProbeMatches`;
const ANONYMOUS = `${NS.wsa}/role/anonymous`;
const RFC3986 = `${NS.wsd}/rfc3986`;
const STRCMP0 = `${NS.wsd}/strcmp0`;
/** The types every camera implements. */
const CAMERA_TYPES = [
  { ns: NS.dn, local: 'NetworkVideoTransmitter' },
  { ns: NS.tds, local: 'Device' },
];

export interface Probe {
  messageId: string;
  types: Array<{ ns: string; local: string }>;
  scopes: string[];
  matchBy: string;
}

/** A WS-Discovery Probe, or undefined when the datagram is not one (malformed probes are dropped silently). */
export function parseProbe(datagram: Buffer): Probe | undefined {
  let doc;
  try {
    doc = parseXml(datagram.toString('utf8'));
  } catch {
    return undefined;
  }
  if (doc.ns !== NS.env || doc.local !== 'Envelope') return undefined;
  const header = child(doc, NS.env, 'Header');
  const action = child(header, NS.wsa, 'Action')?.text.trim();
  const messageId = child(header, NS.wsa, 'MessageID')?.text.trim();
  const probe = child(child(doc, NS.env, 'Body'), NS.wsd, 'Probe');
  if (action !== PROBE_ACTION || !messageId || !probe) return undefined;
  const typesEl = child(probe, NS.wsd, 'Types');
  const types: Probe['types'] = [];
  for (const q of typesEl?.text.trim().split(/\s+/).filter(Boolean) ?? []) {
    const t = typesEl ? resolveQName(typesEl, q) : undefined;
    if (!t) return undefined; // an unbound prefix: malformed
    types.push(t);
  }
  const scopesEl = child(probe, NS.wsd, 'Scopes');
  return { messageId, types, scopes: scopesEl?.text.trim().split(/\s+/).filter(Boolean) ?? [], matchBy: scopesEl?.attrs.get('MatchBy') ?? RFC3986 };
}

function segments(uri: string): { head: string; path: string[] } | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)(\/.*)?$/i.exec(uri);
  if (!m?.[1]) return undefined;
  return { head: m[1].toLowerCase(), path: (m[2] ?? '').split('/').filter(Boolean) };
}

/** WS-Discovery scope matching: RFC 3986 (segment-wise prefix) or strcmp0 (exact). */
export function scopeMatches(probeScope: string, cameraScope: string, matchBy: string): boolean {
  if (matchBy === STRCMP0) return probeScope === cameraScope;
  if (matchBy !== RFC3986) return false;
  const p = segments(probeScope);
  const c = segments(cameraScope);
  if (!p || !c || p.head !== c.head || p.path.length > c.path.length) return false;
  return p.path.every((seg, i) => seg === c.path[i]);
}

export function probeMatchesCamera(probe: Probe, cam: CameraState): boolean {
  const typesOk = probe.types.every((t) => CAMERA_TYPES.some((c) => c.ns === t.ns && c.local === t.local));
  const scopes = scopesOf(cam);
  return typesOk && probe.scopes.every((s) => scopes.some((c) => scopeMatches(s, c, probe.matchBy)));
}

/** The ProbeMatches a camera sends back, as an ONVIF camera words it. */
export function probeMatchesXml(probe: Probe, cam: CameraState): string {
  cam.discoveryMessages++;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope xmlns:env="${NS.env}" xmlns:wsa="${NS.wsa}" xmlns:wsd="${NS.wsd}" xmlns:dn="${NS.dn}" xmlns:tds="${NS.tds}">` +
    `<env:Header><wsa:MessageID>urn:uuid:${randomUUID()}</wsa:MessageID><wsa:RelatesTo>${esc(probe.messageId)}</wsa:RelatesTo>` +
    `<wsa:To env:mustUnderstand="true">${ANONYMOUS}</wsa:To><wsa:Action env:mustUnderstand="true">${MATCHES_ACTION}</wsa:Action>` +
    `<wsd:AppSequence InstanceId="${Math.floor(cam.bootTime / 1000)}" MessageNumber="${cam.discoveryMessages}"/></env:Header>` +
    `<env:Body><wsd:ProbeMatches><wsd:ProbeMatch><wsa:EndpointReference><wsa:Address>${cam.uuid}</wsa:Address></wsa:EndpointReference>` +
    `<wsd:Types>dn:NetworkVideoTransmitter tds:Device</wsd:Types><wsd:Scopes>${scopesOf(cam).map(esc).join(' ')}</wsd:Scopes>` +
    `<wsd:XAddrs>${esc(cam.deviceServiceUrl)}</wsd:XAddrs><wsd:MetadataVersion>1</wsd:MetadataVersion></wsd:ProbeMatch></wsd:ProbeMatches></env:Body></env:Envelope>`
  );
}

/** What the responder needs of a camera. */
export interface Discoverable {
  readonly up: boolean;
  readonly state: CameraState;
}

export interface DiscoveryResponderOptions {
  host: '127.0.0.1';
  /** 0 = ephemeral; after the first start the bound port is reused. */
  port: number;
  /** Cameras answering on this socket (one for a camera's own port, all for the shared one). */
  cameras: () => Iterable<Discoverable>;
  maxDelayMs: number;
  random: Random;
  logger: Logger;
}

/**
 * A WS-Discovery responder on a loopback UDP socket: each matching camera that is up answers a
 * Probe with a ProbeMatches unicast to the sender after a random delay (0..maxDelayMs). Replies
 * go only to loopback senders.
 */
export class DiscoveryResponder {
  private socket: dgram.Socket | undefined;
  private port: number;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: DiscoveryResponderOptions) {
    this.port = options.port;
  }

  async start(): Promise<number> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    socket.on('message', (msg, rinfo) => this.onMessage(socket, msg, rinfo));
    socket.on('error', (err) => this.options.logger.warn({ err }, 'discovery socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, this.options.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.port = socket.address().port;
    this.socket = socket;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private onMessage(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const probe = parseProbe(msg);
    if (!probe) {
      this.options.logger.debug({ from: rinfo.address, bytes: msg.length }, 'not a Probe: dropped');
      return;
    }
    if (!net.isIPv4(rinfo.address) || !rinfo.address.startsWith('127.')) {
      this.options.logger.warn({ from: rinfo.address }, 'probe from a non-loopback address ignored');
      return;
    }
    for (const cam of this.options.cameras()) {
      if (!cam.up || !probeMatchesCamera(probe, cam.state)) continue;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!cam.up || this.socket !== socket) return;
        socket.send(probeMatchesXml(probe, cam.state), rinfo.port, rinfo.address);
      }, Math.floor(this.options.random() * this.options.maxDelayMs));
      this.timers.add(timer);
    }
  }
}
