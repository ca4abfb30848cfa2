import http from 'node:http';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { CameraState } from './camera-state.js';
import { basicMatches, DigestAuth } from './http-digest.js';
import { deviceOperations, type Operation } from './onvif-device.js';
import { mediaOperations } from './onvif-media.js';
import { actionNotSupported, envelope, notAuthorized, NS, SoapFault, wellFormedError } from './soap.js';
import { child, parseXml, XmlError, type XmlElement } from './xml.js';
import { checkUsernameToken, extractUsernameToken, NonceCache } from './ws-security.js';

const MAX_BODY = 256 * 1024;
const SOAP_TYPE = 'application/soap+xml; charset=utf-8';

export interface OnvifHttpServerOptions {
  state: CameraState;
  logger: Logger;
}

const OPERATIONS = new Map<string, Operation>([
  ...Object.entries(deviceOperations).map(([k, v]) => [`${NS.tds}#${k}`, v] as const),
  ...Object.entries(mediaOperations).map(([k, v]) => [`${NS.trt}#${k}`, v] as const),
]);

/**
 * The camera's web server: ONVIF device and media services (SOAP 1.2 over HTTP, both paths
 * answer every operation, as most cameras do) and the snapshot URL. Listens on the state's
 * httpPort (0 the first time), so a restart after a reboot keeps the address.
 */
export class OnvifHttpServer {
  private server: http.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private readonly digest: DigestAuth;
  private readonly nonces: NonceCache;

  constructor(private readonly options: OnvifHttpServerOptions) {
    const { state } = options;
    this.digest = new DigestAuth({ realm: `IP Camera(${state.serial})`, qop: true, now: () => state.wallNow() });
    this.nonces = new NonceCache(2 * state.spec.clockToleranceSec * 1000 + 60_000);
  }

  async start(): Promise<void> {
    const { state } = this.options;
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(state.httpPort, state.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') state.httpPort = addr.port;
    this.server = server;
  }

  /** Closes the listener and every open connection (hung ones included). Forgets nonces, as a reboot does. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.digest.reset();
    this.nonces.clear();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://camera');
    res.setHeader('Server', 'cityedge-sim-camera');
    res.sendDate = false;
    res.setHeader('Date', new Date(this.options.state.now()).toUTCString()); // the camera's clock, skew included
    if (url.pathname === '/onvif/snapshot') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.plain(res, 405, 'Method Not Allowed');
      return this.snapshot(req, res, url.searchParams.get('profile') ?? 'Profile_1');
    }
    if (!/^\/onvif\/(device_service|media_service|Media|Device)$/.test(url.pathname)) return this.plain(res, 404, 'Not Found');
    if (req.method !== 'POST') return this.plain(res, 405, 'Method Not Allowed');
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        this.plain(res, 413, 'Payload Too Large');
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      this.options.state.stats.soapRequests++;
      if (this.options.state.has('soap-hang')) {
        this.options.logger.debug({ path: url.pathname }, 'soap-hang: request read, never answered');
        return;
      }
      this.soap(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  }

  private soap(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
    const { state, logger } = this.options;
    let doc: XmlElement;
    try {
      doc = parseXml(text);
    } catch (err) {
      return this.fault(res, wellFormedError(err instanceof XmlError ? err.message : 'unreadable'));
    }
    if (doc.ns === NS.soap11 && doc.local === 'Envelope') return this.fault(res, new SoapFault('VersionMismatch', [], 'SOAP 1.1 is not supported; use SOAP 1.2'));
    if (doc.ns !== NS.env || doc.local !== 'Envelope') return this.fault(res, new SoapFault('Sender', [], 'Not a SOAP 1.2 envelope'));
    const opEl = child(doc, NS.env, 'Body')?.children[0];
    if (!opEl) return this.fault(res, new SoapFault('Sender', [], 'Empty SOAP body'));
    const op = OPERATIONS.get(`${opEl.ns}#${opEl.local}`);
    if (!op) return this.fault(res, actionNotSupported(`${opEl.local}`));
    if (!op.public) {
      const denied = this.authorize(req, child(doc, NS.env, 'Header'));
      if (denied) {
        logger.debug({ operation: opEl.local, reason: denied.reason }, 'SOAP request not authorized');
        state.countAuthFailure(denied.reason);
        if (denied.challenge) res.setHeader('WWW-Authenticate', this.digest.challenge(denied.reason === 'stale'));
        return this.fault(res, notAuthorized(), denied.challenge ? 401 : undefined);
      }
    }
    try {
      this.reply(res, 200, envelope(op.handle(opEl, state)));
    } catch (err) {
      if (err instanceof SoapFault) return this.fault(res, err);
      logger.error({ err, operation: opEl.local }, 'SOAP handler failed');
      this.fault(res, new SoapFault('Receiver', [], 'Internal error'));
    }
  }

  /** Undefined when allowed; otherwise the reason and whether to answer 401 with a Digest challenge. */
  private authorize(req: http.IncomingMessage, header: XmlElement | undefined): { reason: string; challenge: boolean } | undefined {
    const { state } = this.options;
    const mode = state.spec.auth;
    const token = extractUsernameToken(header);
    let wsReason: string | undefined;
    if (mode !== 'http-digest') {
      wsReason = checkUsernameToken(token, {
        username: state.spec.username,
        password: state.password,
        cameraNowMs: state.now(),
        toleranceMs: state.spec.clockToleranceSec * 1000,
        acceptPasswordText: state.spec.acceptPasswordText,
        ...(state.spec.nonceReplayCheck ? { nonces: this.nonces } : {}),
      });
      if (wsReason === undefined) return undefined;
      if (mode === 'ws-security' || token !== undefined) return { reason: wsReason, challenge: false };
    }
    const verdict = this.digest.verify(req.headers.authorization, req.method ?? 'POST', req.url ?? '/', state.spec.username, state.password);
    if (verdict === 'ok') return undefined;
    return { reason: verdict === 'stale' ? 'stale' : 'http-digest', challenge: true };
  }

  private snapshot(req: http.IncomingMessage, res: http.ServerResponse, token: string): void {
    const { state } = this.options;
    const profile = state.profile(token);
    if (!profile) return this.plain(res, 404, 'Not Found');
    const mode = state.spec.snapshotAuth;
    if (mode === 'basic' && !basicMatches(req.headers.authorization, state.spec.username, state.password)) {
      state.countAuthFailure('snapshot');
      res.setHeader('WWW-Authenticate', `Basic realm="IP Camera(${state.serial})"`);
      return this.plain(res, 401, 'Unauthorized');
    }
    if (mode === 'digest') {
      const verdict = this.digest.verify(req.headers.authorization, req.method ?? 'GET', req.url ?? '/', state.spec.username, state.password);
      if (verdict !== 'ok') {
        if (verdict !== 'missing') state.countAuthFailure('snapshot');
        res.setHeader('WWW-Authenticate', this.digest.challenge(verdict === 'stale'));
        return this.plain(res, 401, 'Unauthorized');
      }
    }
    const frame = state.frame(profile.token);
    state.stats.snapshots++;
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': frame.jpeg.length, 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : frame.jpeg);
  }

  private fault(res: http.ServerResponse, fault: SoapFault, status = fault.status): void {
    this.reply(res, status, fault.toXml());
  }

  private reply(res: http.ServerResponse, status: number, xml: string): void {
    let body = xml;
    if (this.options.state.has('malformed-xml')) {
      // Cut mid-element and leave an unescaped ampersand: what a crashing web server sends.
      body = `${xml.slice(0, Math.floor(xml.length * 0.6))}<tt:Broken attr="x & y">`;
    }
    res.writeHead(status, { 'Content-Type': SOAP_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  private plain(res: http.ServerResponse, status: number, text: string): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
