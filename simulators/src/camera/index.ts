/**
 * Simulated ONVIF Profile S cameras, on 127.0.0.1 only, for tests, the demo and the benchmark.
 *
 * Each camera has:
 * - a web server (HTTP, SOAP 1.2): POST /onvif/device_service and /onvif/media_service (either
 *   path answers every operation). Without login: GetSystemDateAndTime, GetCapabilities,
 *   GetServices, GetServiceCapabilities, GetHostname. With login: GetDeviceInformation,
 *   GetScopes, GetProfiles, GetProfile, GetVideoSources, GetStreamUri, GetSnapshotUri.
 *   Login is a WS-UsernameToken PasswordDigest (`auth: 'ws-security'`, the default), HTTP Digest
 *   (`'http-digest'`: RFC 7616, MD5, qop=auth, 401 + WWW-Authenticate) or either (`'any'`).
 *   A refused token gets HTTP 400 with env:Sender / ter:NotAuthorized. Tokens need Nonce and
 *   Created; Created must be within clockToleranceSec (default 10) of the CAMERA's clock (read
 *   GetSystemDateAndTime first and sign with it); a nonce is accepted once (nonceReplayCheck).
 *   Other faults: malformed request -> 400 env:Sender/ter:WellFormed; unknown operation -> 500
 *   env:Receiver/ter:ActionNotSupported; unknown profile token -> 400 ter:InvalidArgVal/ter:NoProfile.
 * - GET /onvif/snapshot?profile=Profile_1 (the snapshotUrl): a real baseline JPEG (4:2:0) of the
 *   current frame; auth per `snapshotAuth`: 'digest' (default, qop=auth), 'basic' or 'none'.
 *   Frames change every 1/fps s (a moving bar and the frame number in binary along the top).
 * - RTSP 1.0 at rtsp://127.0.0.1:<rtspPort>/stream1 (Profile_1, width x height) and /stream2
 *   (Profile_2, half size): OPTIONS, DESCRIBE (SDP: a=rtpmap:26 JPEG/90000, a=framesize:26 W-H,
 *   a=x-dimensions:W,H, a=framerate, a=control:trackID=1), SETUP (RTP/AVP/TCP interleaved, or
 *   RTP/AVP UDP to a loopback client), PLAY, PAUSE, TEARDOWN, GET_PARAMETER (keepalive).
 *   Digest auth (MD5, challenge without qop, as most cameras send it) on DESCRIBE/SETUP/PLAY/PAUSE
 *   unless `rtspAuth: 'none'`. Video is MJPEG over RTP (RFC 2435, type 1, Q=255 with in-band
 *   tables) at fps; ffmpeg pulls frames from it.
 * - a WS-Discovery responder (UDP, SOAP 1.2, WS-Discovery 2005/04) on its own port
 *   (info().discoveryPort) and on the simulation's shared port (sim.discoveryPort, where every
 *   camera answers, like a LAN segment). A Probe (Types dn:NetworkVideoTransmitter or tds:Device
 *   or none, optional Scopes) gets a ProbeMatches unicast back after 0..maxDelayMs with the
 *   stable urn:uuid EndpointReference (info().uuid), Scopes onvif://www.onvif.org/name/<name>,
 *   /hardware/<model>, /location/<location>, and XAddrs = deviceServiceUrl. AppSequence
 *   InstanceId = boot time in seconds (changes on reboot). Malformed probes are dropped silently.
 *
 * Faults (at start via `fault` in the spec, or at runtime with `setFault`, several at once):
 * 'wrong-password' (the camera's password was rotated), 'clock-skew' (skewSec, default 3600),
 * 'soap-hang' (SOAP read, never answered), 'malformed-xml' (truncated SOAP answers, HTTP 200),
 * 'rtsp-down' (RTSP port refuses connections, ONVIF still answers), 'frozen-snapshot' (the same
 * frame forever, snapshot and video), 'reboot' (downSec, default 5: every port closed, then back
 * on the same ports with a new bootTime; the fault clears itself). Short forms: "clock-skew:600".
 *
 * Example:
 * ```ts
 * const sim = await startCameraSimulation(
 *   { cameras: [{ id: 'cam-1', username: 'admin', password: 'secret', width: 320, height: 240, fps: 5 }], discovery: { maxDelayMs: 20 } },
 *   { logger },
 * );
 * const cam = sim.camera('cam-1');
 * const { deviceServiceUrl, rtspUrl, snapshotUrl, discoveryPort } = cam.info();
 * await cam.setFault({ mode: 'clock-skew', skewSec: 600 });
 * await cam.setFault('rtsp-down');
 * await cam.clearFault();            // all faults; clearFault('rtsp-down') for one
 * await cam.setFault('reboot:1');    // resolves once down; await cam.whenUp() for the return
 * await sim.stop();
 * ```
 * info() also carries stats (authFailures by reason, soapRequests, snapshots, rtpPackets, boots).
 * HTTP answers carry a Date header from the camera's clock (skew included), as cameras do.
 * The same cameras can be started from a simulator spec: `startSimulation({ cameras: [...],
 * cameraDiscovery: { maxDelayMs } })` (and `cityedge-sim --config` or `--camera`), reachable as sim.cameras.
 */
export { startCameraSimulation, parseCameraSimulationSpec, type CameraSimulation, type CameraSimulationOptions } from './camera-simulation.js';
export { SimCamera, type CameraInfo, type CameraProfileInfo } from './sim-camera.js';
export {
  CameraSpec,
  CameraSimulationSpec,
  CameraFaultSpec,
  CameraFaultObject,
  CAMERA_FAULT_MODES,
  cameraFaultFromString,
  type CameraSpecInput,
  type CameraSimulationSpecInput,
  type CameraFault,
  type CameraFaultInput,
  type CameraFaultMode,
} from './camera-spec.js';
export type { CameraStats } from './camera-state.js';
export { encodeJpeg, type EncodedJpeg, type PlanarFrame } from './jpeg-encoder.js';
export { passwordDigest } from './ws-security.js';
