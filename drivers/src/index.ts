// Modbus access
export * from './modbus-transport.js';
export { ModbusArgumentError, LIMITS as MODBUS_LIMITS } from './modbus-args.js';
export {
  ModbusSerialTransport,
  describeEndpoint,
  type ModbusEndpoint,
  type ModbusSerialTransportOptions,
  type TransportLogger,
} from './modbus-serial-transport.js';
export { createTransport, endpointOf, type CreateTransportOptions } from './create-transport.js';

// Point codec and read planning
export { CodecError, type CodecErrorCode } from './codec-error.js';
export { planReads, registerCount, isBitTable, MAX_READ_BITS, MAX_READ_REGISTERS, type PlanOptions, type ReadBlock } from './read-plan.js';
export { decodeBlock, decodePoints, decodeRegisters, encodeValue, reorderWords, valueError, type BlockData, type PointValue, type ValueErrorCode } from './point-codec.js';
export { scaleValue, unscaleValue, isValidValue, clampDecimals, shortestFloat32, MAX_DECIMALS } from './value-scaling.js';

// Cameras: ONVIF client, RTSP probe, snapshot checks, WS-Discovery
export type { CameraClient, MediaClient, CameraEndpoint, CameraLimits, CameraClock, DeviceInformation, MediaProfile } from './camera/camera-client.js';
export { CameraError, isCameraError, type CameraErrorCode } from './camera/camera-error.js';
export { OnvifCameraClient, type OnvifCameraClientOptions } from './camera/onvif-camera-client.js';
export { RtspCameraClient, type RtspCameraClientOptions } from './camera/rtsp-camera-client.js';
export { probeRtsp, type RtspProbeMode, type RtspProbeOptions, type RtspProbeResult, type RtspFrame } from './camera/rtsp-probe.js';
export { parseSdp, videoOf, type Sdp, type SdpMedia, type SdpVideo } from './camera/sdp.js';
export { rtspBaseUrl, resolveControl, rtspControlUrls, type RtspControlUrls } from './camera/rtsp-control-url.js';
export { parseRtp, parseJpegRtpHeader, type RtpPacket, type JpegRtpHeader } from './camera/rtp.js';
export { inspectH264Payload, type H264PayloadInfo } from './camera/rtp-h264.js';
export { parseSpsResolution, h264Resolution } from './camera/h264-sps.js';
export { DigestSession, parseChallenges, type Challenge } from './camera/digest-auth.js';
export { httpGet, type HttpGetOptions, type HttpGetResult } from './camera/http-get.js';
export { inspectJpeg, jpegHash, SnapshotFreshness, type JpegInfo } from './camera/jpeg-check.js';
export { InlineJpegDecoder, JpegWorker, type JpegDecoder, type SnapshotAnalysis, type AnalyseOptions, type JpegWorkerOptions } from './camera/jpeg-decoder.js';
export { wsDiscover, parseProbeMatches, probeMessage, WS_DISCOVERY_MULTICAST, WS_DISCOVERY_PORT, type WsDiscoveryOptions, type DiscoveredDevice, type DiscoveryResult } from './camera/ws-discovery.js';
export { stripUriSecrets, withHost } from './camera/uri-secrets.js';
export { listSerialPorts, type SerialPortInfo } from './serial-ports.js';

// Firmata boards (johnny-five + firmata-io): serial or network
export * from './firmata/board-transport.js';
export { FirmataBoardTransport, describeFirmataEndpoint, type FirmataEndpoint, type FirmataBoardTransportOptions } from './firmata/firmata-board-transport.js';
export { resolvePin, pinSyntaxError, type PinMap, type ResolvedPin } from './firmata/pin-ref.js';
export { createBoardTransport, firmataEndpointOf, FIRMATA_TCP_PORT } from './firmata/create-board-transport.js';
