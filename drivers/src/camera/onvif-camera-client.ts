import { createHash, randomBytes } from 'node:crypto';
import type { UrlWithStringQuery } from 'node:url';
import { Cam } from 'onvif';
import type { CameraClient, CameraClock, CameraEndpoint, CameraLimits, DeviceInformation, MediaProfile } from './camera-client.js';
import { CameraError, fromSocketError } from './camera-error.js';
import { GuardedAgent } from './guarded-agent.js';
import { isAuthFault, parseDeviceInformation, parseMediaUri, parseProfiles, parseSystemDateAndTime, responseOf, soapBody, soapFault } from './onvif-xml.js';
import { RtspCameraClient } from './rtsp-camera-client.js';
import type { RtspProbeMode, RtspProbeResult } from './rtsp-probe.js';
import { withHost } from './uri-secrets.js';

export interface OnvifCameraClientOptions {
  endpoint: CameraEndpoint;
  limits: CameraLimits;
  /** Local clock for the skew measurement; default Date.now. */
  now?: () => number;
}

type OnvifCallback = (err: Error | null, data?: unknown, xml?: string) => void;

interface ActiveCall {
  /** Unique per call: sockets are labelled with it. */
  seq: number;
  fail(err: CameraError): void;
}

/**
 * CameraClient on the `onvif` package, which builds the SOAP requests, the WS-UsernameToken
 * PasswordDigest (signed with the camera's time once GetSystemDateAndTime has set its
 * timeShift) and answers HTTP Digest challenges. Around it we add what it lacks:
 * - a hard deadline per call (its own timeout is an idle timeout) and a reply size cap, both
 *   through GuardedAgent, which owns every socket it opens;
 * - exactly one settlement per call: it can call a callback twice (xml2js re-invokes the
 *   callback with the exception when a result handler throws on an unexpected reply);
 * - our own parsing of the raw XML (onvif-xml.ts), with coded errors, SOAP faults told apart
 *   (NotAuthorized -> EDGE_CAMERA_UNAUTHORIZED), and the camera's strings kept as strings.
 * A fresh Cam is made per session (getSystemDateAndTime), so a rebooted camera's new clock
 * and service addresses are always read again: Cam keeps both once set.
 */
export class OnvifCameraClient implements CameraClient {
  private readonly ep: CameraEndpoint;
  private readonly limits: CameraLimits;
  private readonly now: () => number;
  private cam: Cam | undefined;
  private agent: GuardedAgent | undefined;
  private active: ActiveCall | undefined;
  private last: { status: number; xml: string } | undefined;
  private mediaReady = false;
  private callSeq = 0;
  /** Snapshot and RTSP checks of the URIs ONVIF reports. */
  private readonly mediaChecks: RtspCameraClient;

  constructor(opts: OnvifCameraClientOptions) {
    this.ep = opts.endpoint;
    this.limits = opts.limits;
    this.now = opts.now ?? Date.now;
    this.mediaChecks = new RtspCameraClient({
      limits: opts.limits,
      ...(opts.endpoint.username !== undefined && { credentials: { username: opts.endpoint.username, password: opts.endpoint.password ?? '' } }),
    });
  }

  async getSystemDateAndTime(): Promise<CameraClock> {
    this.close();
    const agent = new GuardedAgent(
      this.limits.maxResponseBytes + 16_384,
      (bytes) => this.active?.fail(new CameraError('EDGE_CAMERA_TOO_LARGE', `ONVIF: reply of more than ${bytes} bytes (cap ${this.limits.maxResponseBytes})`)),
      (tag) => {
        if (this.active?.seq === tag) this.active.fail(new CameraError('EDGE_CAMERA_CONNECT', 'ONVIF: connection closed before a complete reply'));
      },
      () => this.active?.seq ?? 0,
    );
    const cam = new Cam({
      hostname: this.ep.host,
      port: this.ep.port,
      path: this.ep.path,
      ...(this.ep.username !== undefined && { username: this.ep.username, password: this.ep.password ?? '' }),
      timeout: this.limits.timeoutMs,
      autoconnect: false,
      preserveAddress: true,
      agent,
    });
    utf8PasswordDigest(cam);
    cam.on('rawResponse', (xml: string, status: number) => {
      if (this.cam === cam) this.last = { status, xml };
    });
    // onvif emits socket problems of some paths as 'error' events: never let one go unhandled.
    cam.on('error', () => undefined);
    this.cam = cam;
    this.agent = agent;
    const sentAt = this.now();
    const sentUptime = process.uptime();
    const cameraTime = await this.call('GetSystemDateAndTime', (cb) => cam.getSystemDateAndTime(cb), (body) => parseSystemDateAndTime(responseOf(body, 'GetSystemDateAndTimeResponse', 'GetSystemDateAndTime'), 'GetSystemDateAndTime'));
    // ONVIF reports whole seconds: the camera's clock was on average half a second further.
    const cameraNow = cameraTime + 500;
    const midUptime = (sentUptime + process.uptime()) / 2;
    cam.timeShift = cameraNow - midUptime * 1000;
    const mid = (sentAt + this.now()) / 2;
    return { cameraTime, skewMs: Math.round(cameraNow - mid) };
  }

  async getDeviceInformation(): Promise<DeviceInformation> {
    const cam = this.session();
    return this.call('GetDeviceInformation', (cb) => cam.getDeviceInformation(cb), (body) => parseDeviceInformation(responseOf(body, 'GetDeviceInformationResponse', 'GetDeviceInformation')));
  }

  async getProfiles(): Promise<MediaProfile[]> {
    const cam = await this.media();
    return this.call('GetProfiles', (cb) => cam.getProfiles(cb), (body) => parseProfiles(responseOf(body, 'GetProfilesResponse', 'GetProfiles'), 'GetProfiles'));
  }

  async getStreamUri(profileToken: string): Promise<string> {
    const cam = await this.media();
    const uri = await this.call(
      'GetStreamUri',
      (cb) => cam.getStreamUri({ protocol: 'RTSP', stream: 'RTP-Unicast', profileToken: xmlText(profileToken) }, cb),
      (body) => parseMediaUri(responseOf(body, 'GetStreamUriResponse', 'GetStreamUri'), 'GetStreamUri'),
    );
    return this.ep.preserveAddress ? withHost(uri, this.ep.host) : uri;
  }

  async getSnapshotUri(profileToken: string): Promise<string> {
    const cam = await this.media();
    const uri = await this.call(
      'GetSnapshotUri',
      (cb) => cam.getSnapshotUri({ profileToken: xmlText(profileToken) }, cb),
      (body) => parseMediaUri(responseOf(body, 'GetSnapshotUriResponse', 'GetSnapshotUri'), 'GetSnapshotUri'),
    );
    return this.ep.preserveAddress ? withHost(uri, this.ep.host) : uri;
  }

  fetchSnapshot(uri: string): Promise<Buffer> {
    return this.mediaChecks.fetchSnapshot(uri);
  }

  probeRtsp(uri: string, mode: RtspProbeMode): Promise<RtspProbeResult> {
    return this.mediaChecks.probeRtsp(uri, mode);
  }

  close(): void {
    this.active?.fail(new CameraError('EDGE_CAMERA_CONNECT', 'ONVIF: client closed'));
    this.agent?.destroySockets();
    this.agent?.destroy();
    this.cam = undefined;
    this.agent = undefined;
    this.mediaReady = false;
  }

  private session(): Cam {
    if (!this.cam) throw new CameraError('EDGE_CAMERA_ARGUMENT', 'ONVIF: call getSystemDateAndTime first');
    return this.cam;
  }

  /** The media service address, from GetCapabilities (the device service path when none is given). */
  private async media(): Promise<Cam> {
    const cam = this.session();
    if (this.mediaReady) return cam;
    await this.call('GetCapabilities', (cb) => cam.getCapabilities(cb), (body) => responseOf(body, 'GetCapabilitiesResponse', 'GetCapabilities'));
    if (!cam.uri?.media) {
      const device = cam.uri?.device;
      cam.uri = { ...(cam.uri ?? {}), media: device ?? ({ path: this.ep.path } as UrlWithStringQuery) };
    }
    this.mediaReady = true;
    return cam;
  }

  /** Runs one onvif call under our deadline and size cap; settles once, with a result or a CameraError. */
  private call<T>(what: string, invoke: (cb: OnvifCallback) => void, parse: (body: Record<string, unknown>) => T): Promise<T> {
    if (this.active) return Promise.reject(new CameraError('EDGE_CAMERA_ARGUMENT', `${what}: another call is in progress`));
    this.last = undefined;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (err: CameraError | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.active === call) this.active = undefined;
        if (err) reject(err);
        else resolve(value as T);
      };
      const call: ActiveCall = {
        seq: ++this.callSeq,
        fail: (err) => {
          // Ends the request on the wire too; onvif's late callback is then ignored.
          this.agent?.destroySockets();
          settle(err);
        },
      };
      const timer = setTimeout(() => call.fail(new CameraError('EDGE_CAMERA_TIMEOUT', `${what}: no answer within ${this.limits.timeoutMs} ms`)), this.limits.timeoutMs);
      this.active = call;
      try {
        invoke((err, _data, xml) => {
          if (settled) return;
          try {
            settle(undefined, this.interpret(what, err, xml, parse));
          } catch (e) {
            settle(e instanceof CameraError ? e : new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: unexpected reply`, { cause: e }));
          }
        });
      } catch (e) {
        settle(new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: request failed`, { cause: e }));
      }
    });
  }

  private interpret<T>(what: string, err: Error | null, xml: string | undefined, parse: (body: Record<string, unknown>) => T): T {
    const raw = xml || this.last?.xml;
    const status = this.last?.status;
    if (raw && /<\s*([A-Za-z0-9_-]+:)?Envelope[\s>]/.test(raw)) {
      const body = soapBody(raw, what);
      const fault = soapFault(body);
      if (fault) {
        if (isAuthFault(fault)) throw new CameraError('EDGE_CAMERA_UNAUTHORIZED', `${what}: credentials rejected (${fault.subcodes.join('/') || fault.reason})`, status === undefined ? {} : { status });
        throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: SOAP fault ${fault.subcodes.join('/') || ''} ${fault.reason}`.trim(), status === undefined ? {} : { status });
      }
      if (status !== undefined && (status < 200 || status > 299)) throw new CameraError('EDGE_CAMERA_STATUS', `${what}: HTTP ${status}`, { status });
      return parse(body);
    }
    if (status === 401 || /Digest authentication failed/i.test(err?.message ?? '')) throw new CameraError('EDGE_CAMERA_UNAUTHORIZED', `${what}: credentials rejected (HTTP 401)`, { status: 401 });
    if (err && typeof (err as NodeJS.ErrnoException).code === 'string') throw fromSocketError(err, what);
    if (err && /Network timeout/i.test(err.message)) throw new CameraError('EDGE_CAMERA_TIMEOUT', `${what}: no answer within ${this.limits.timeoutMs} ms`);
    if (status !== undefined && (status < 200 || status > 299)) throw new CameraError('EDGE_CAMERA_STATUS', `${what}: HTTP ${status}`, { status });
    throw new CameraError('EDGE_CAMERA_BAD_RESPONSE', `${what}: ${raw ? 'reply is not a SOAP envelope' : (err?.message ?? 'empty reply').slice(0, 120)}`);
  }
}

/**
 * onvif computes the WS-UsernameToken digest over `Buffer.from(password, 'ascii')`, which
 * mangles any non-ASCII password (Vietnamese ones included); the WS-Security UsernameToken
 * profile digests the UTF-8 bytes. Same algorithm and clock (uptime + timeShift), UTF-8 bytes.
 */
function utf8PasswordDigest(cam: Cam): void {
  const c = cam as unknown as { password?: string; timeShift?: number; _passwordDigest: () => { passdigest: string; nonce: string; timestamp: string } };
  c._passwordDigest = () => {
    const timestamp = new Date(process.uptime() * 1000 + (c.timeShift ?? 0)).toISOString();
    const nonce = randomBytes(16);
    const passdigest = createHash('sha1')
      .update(Buffer.concat([nonce, Buffer.from(timestamp, 'utf8'), Buffer.from(c.password ?? '', 'utf8')]))
      .digest('base64');
    return { passdigest, nonce: nonce.toString('base64'), timestamp };
  };
}

/** Escapes a value onvif splices into its XML unescaped. */
function xmlText(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
