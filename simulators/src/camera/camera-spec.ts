import * as z from 'zod';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected an id of letters, digits, ".", "_" and "-" (at most 64)');
const port = z.int().min(0).max(65535);
/** RFC 2435 carries width and height in units of 8 pixels, at most 2040. */
const dimension = z.int().min(16).max(2040).multipleOf(8, 'expected a multiple of 8 (RFC 2435 sends sizes in 8-pixel units)');

/**
 * What a camera does wrong. Several can be active at once (one of each mode); setting a mode
 * again replaces its parameters.
 */
export const CameraFaultObject = z.discriminatedUnion('mode', [
  /** Credentials rotated on the camera: the configured password no longer works (ONVIF, snapshot, RTSP). */
  z.strictObject({ mode: z.literal('wrong-password') }),
  /** The camera's clock is off by skewSec (default one hour): a client that does not sign with the camera's time gets NotAuthorized. */
  z.strictObject({ mode: z.literal('clock-skew'), skewSec: z.number().min(-10 * 365 * 86400).max(10 * 365 * 86400).default(3600) }),
  /** SOAP requests are read and never answered (the connection stays open). Snapshot and RTSP still work. */
  z.strictObject({ mode: z.literal('soap-hang') }),
  /** SOAP answers are HTTP 200 with broken XML (truncated, unclosed elements). */
  z.strictObject({ mode: z.literal('malformed-xml') }),
  /** ONVIF answers but the RTSP port refuses connections (listener closed, sessions dropped). */
  z.strictObject({ mode: z.literal('rtsp-down') }),
  /** Snapshot and video show the same frame forever. */
  z.strictObject({ mode: z.literal('frozen-snapshot') }),
  /** Every service (HTTP, RTSP, discovery) is down for downSec, then back with a new boot time; the fault then clears itself. */
  z.strictObject({ mode: z.literal('reboot'), downSec: z.number().min(0).max(3600).default(5) }),
]);
export type CameraFault = z.infer<typeof CameraFaultObject>;
export type CameraFaultInput = z.input<typeof CameraFaultObject>;
export type CameraFaultMode = CameraFault['mode'];
export const CAMERA_FAULT_MODES: readonly CameraFaultMode[] = ['wrong-password', 'clock-skew', 'soap-hang', 'malformed-xml', 'rtsp-down', 'frozen-snapshot', 'reboot'];

/** Short form `mode[:arg]`: `clock-skew:600`, `reboot:3`, `rtsp-down`. */
export function cameraFaultFromString(text: string): Record<string, unknown> {
  const [mode = '', arg] = text.trim().split(':', 2);
  const out: Record<string, unknown> = { mode };
  if (arg === undefined) return out;
  const n = Number(arg);
  const value = arg.trim() !== '' && Number.isFinite(n) ? n : arg;
  if (mode === 'clock-skew') out.skewSec = value;
  else if (mode === 'reboot') out.downSec = value;
  else out.argument = value; // no argument for this mode: the strict schema reports it
  return out;
}

/** A fault given as an object or in the short string form. */
export const CameraFaultSpec = z.preprocess((v) => (typeof v === 'string' ? cameraFaultFromString(v) : v), CameraFaultObject);

export const CameraSpec = z.strictObject({
  id,
  /** Shown in GetDeviceInformation-adjacent places: discovery scope name/..., SDP session name. Default: the id. */
  name: z.string().min(1).max(64).optional(),
  manufacturer: z.string().min(1).max(64).default('CityEdge Sim'),
  model: z.string().min(1).max(64).default('SimCam S1'),
  firmware: z.string().min(1).max(64).default('1.4.2'),
  /** Default: derived from the id. */
  serial: z.string().min(1).max(64).optional(),
  hardwareId: z.string().min(1).max(64).default('SC-S1-R2'),
  /** Scope onvif://www.onvif.org/location/<location>. */
  location: z.string().min(1).max(64).default('city'),
  username: z.string().min(1).max(64).default('admin'),
  password: z.string().min(1).max(64).default('admin'),
  /** How SOAP calls that need login are authenticated: WS-UsernameToken digest, HTTP Digest, or either. */
  auth: z.enum(['ws-security', 'http-digest', 'any']).default('ws-security'),
  /** Authentication of the snapshot URL. */
  snapshotAuth: z.enum(['none', 'basic', 'digest']).default('digest'),
  /** Authentication of RTSP DESCRIBE/SETUP/PLAY. */
  rtspAuth: z.enum(['none', 'digest']).default('digest'),
  /** Accept wsse:Password of type PasswordText (many real cameras do); off by default. */
  acceptPasswordText: z.boolean().default(false),
  /** |Created - camera clock| allowed for a UsernameToken. */
  clockToleranceSec: z.number().min(0).max(86400).default(10),
  /** Reject a UsernameToken nonce seen before (within the tolerance window). */
  nonceReplayCheck: z.boolean().default(true),
  /** Main stream (Profile_1) size; the sub stream (Profile_2) is half of it, rounded down to 8. */
  width: dimension.default(640),
  height: dimension.default(360),
  fps: z.number().min(0.1).max(30).default(5),
  /** JPEG quality 1..100 (IJG scaling). */
  quality: z.int().min(1).max(100).default(60),
  /** Answer WS-Discovery probes (on the camera's own UDP port and the simulation's shared one). */
  discovery: z.boolean().default(true),
  /** 0 = ephemeral. The ports stay the same across reboots and rtsp-down. */
  httpPort: port.default(0),
  rtspPort: port.default(0),
  discoveryPort: port.default(0),
  /** RTSP sessions die after this many seconds without a request (GET_PARAMETER keeps them alive). */
  rtspSessionTimeoutSec: z.int().min(1).max(3600).default(60),
  /** Faults at start: one, or a list (one of each mode). */
  fault: z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), z.array(CameraFaultSpec)).optional(),
});
export type CameraSpec = z.infer<typeof CameraSpec>;
export type CameraSpecInput = z.input<typeof CameraSpec>;

/** The simulation-wide WS-Discovery settings. */
export const CameraDiscoverySpec = z
  .strictObject({
    /** Shared UDP port on which every camera with discovery answers (like a LAN segment); 0 = ephemeral. */
    port: port.default(0),
    /** Replies are delayed by a random 0..maxDelayMs (WS-Discovery APP_MAX_DELAY). */
    maxDelayMs: z.int().min(0).max(10_000).default(500),
  })
  .prefault({});

export const CameraSimulationSpec = z
  .strictObject({
    cameras: z.array(CameraSpec).min(1, 'a camera simulation needs at least one camera'),
    /** Loopback address every service binds to. */
    host: z.literal('127.0.0.1').default('127.0.0.1'),
    discovery: CameraDiscoverySpec,
    /** Seed of the discovery delays and nonces. */
    seed: z.int().min(0).max(0xffffffff).optional(),
  })
  .superRefine((spec, ctx) => {
    const seen = new Map<string, number>();
    spec.cameras.forEach((c, i) => {
      const first = seen.get(c.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['cameras', i, 'id'], message: `duplicate camera id "${c.id}" (also cameras[${first}])` });
      else seen.set(c.id, i);
    });
  });
export type CameraSimulationSpec = z.infer<typeof CameraSimulationSpec>;
export type CameraSimulationSpecInput = z.input<typeof CameraSimulationSpec>;
