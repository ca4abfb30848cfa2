// Cameras: ONVIF client, RTSP probe, snapshot checks, WS-Discovery. A subpath of its own
// (@cityedge/drivers/camera) so that the agent's bundle loads the camera stack (onvif, XML parsers,
// jpeg-js) only when a configuration has cameras, not with the Modbus drivers every gateway uses.
export type { CameraClient, MediaClient, CameraEndpoint, CameraLimits, CameraClock, DeviceInformation, MediaProfile } from './camera-client.js';
export { CameraError, isCameraError, type CameraErrorCode } from './camera-error.js';
export { OnvifCameraClient, type OnvifCameraClientOptions } from './onvif-camera-client.js';
export { RtspCameraClient, type RtspCameraClientOptions } from './rtsp-camera-client.js';
export { probeRtsp, type RtspProbeMode, type RtspProbeOptions, type RtspProbeResult, type RtspFrame } from './rtsp-probe.js';
export { parseSdp, videoOf, type Sdp, type SdpMedia, type SdpVideo } from './sdp.js';
export { rtspBaseUrl, resolveControl, rtspControlUrls, type RtspControlUrls } from './rtsp-control-url.js';
export { parseRtp, parseJpegRtpHeader, type RtpPacket, type JpegRtpHeader } from './rtp.js';
export { inspectH264Payload, type H264PayloadInfo } from './rtp-h264.js';
export { parseSpsResolution, h264Resolution } from './h264-sps.js';
export { DigestSession, parseChallenges, type Challenge } from './digest-auth.js';
export { httpGet, type HttpGetOptions, type HttpGetResult } from './http-get.js';
export { inspectJpeg, jpegHash, SnapshotFreshness, type JpegInfo } from './jpeg-check.js';
export { InlineJpegDecoder, JpegWorker, type JpegDecoder, type SnapshotAnalysis, type AnalyseOptions, type JpegWorkerOptions } from './jpeg-decoder.js';
export { wsDiscover, parseProbeMatches, probeMessage, WS_DISCOVERY_MULTICAST, WS_DISCOVERY_PORT, type WsDiscoveryOptions, type DiscoveredDevice, type DiscoveryResult } from './ws-discovery.js';
export { stripUriSecrets, withHost } from './uri-secrets.js';
