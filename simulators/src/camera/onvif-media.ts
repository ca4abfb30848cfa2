import type { CameraState, StreamProfile } from './camera-state.js';
import { mediaServiceCapabilities, type Operation } from './onvif-device.js';
import { invalidArg, NS, SoapFault } from './soap.js';
import { child, childText, esc, type XmlElement } from './xml.js';

function videoSourceConfiguration(cam: CameraState): string {
  const { width, height } = cam.spec;
  return (
    `<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig_1</tt:Name><tt:UseCount>${cam.profiles.length}</tt:UseCount>` +
    `<tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="${width}" height="${height}"/></tt:VideoSourceConfiguration>`
  );
}

function videoEncoderConfiguration(p: StreamProfile, cam: CameraState): string {
  const n = p.token.replace('Profile_', '');
  return (
    `<tt:VideoEncoderConfiguration token="VideoEncoderConfig_${n}"><tt:Name>VideoEncoderConfig_${n}</tt:Name><tt:UseCount>1</tt:UseCount>` +
    `<tt:Encoding>JPEG</tt:Encoding><tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution>` +
    `<tt:Quality>${Math.max(1, Math.round(cam.spec.quality / 10))}</tt:Quality>` +
    `<tt:RateControl><tt:FrameRateLimit>${Math.max(1, Math.round(p.fps))}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>4096</tt:BitrateLimit></tt:RateControl>` +
    `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>` +
    `<tt:SessionTimeout>PT${cam.spec.rtspSessionTimeoutSec}S</tt:SessionTimeout></tt:VideoEncoderConfiguration>`
  );
}

function profileXml(p: StreamProfile, cam: CameraState, element: string): string {
  return `<${element} token="${p.token}" fixed="true"><tt:Name>${p.name}</tt:Name>${videoSourceConfiguration(cam)}${videoEncoderConfiguration(p, cam)}</${element}>`;
}

function requestedProfile(req: XmlElement, cam: CameraState): StreamProfile {
  const token = childText(req, [NS.trt, 'ProfileToken']);
  const p = token ? cam.profile(token) : undefined;
  if (!p) throw invalidArg('NoProfile', `The requested profile token ${token ?? '(none)'} does not exist`);
  return p;
}

function mediaUri(uri: string, element: string): string {
  return `<${element}><trt:MediaUri><tt:Uri>${esc(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></${element}>`;
}

export const mediaOperations: Record<string, Operation> = {
  GetServiceCapabilities: {
    public: true,
    handle: () => `<trt:GetServiceCapabilitiesResponse>${mediaServiceCapabilities()}</trt:GetServiceCapabilitiesResponse>`,
  },
  GetProfiles: {
    public: false,
    handle: (_req, cam) => `<trt:GetProfilesResponse>${cam.profiles.map((p) => profileXml(p, cam, 'trt:Profiles')).join('')}</trt:GetProfilesResponse>`,
  },
  GetProfile: {
    public: false,
    handle: (req, cam) => `<trt:GetProfileResponse>${profileXml(requestedProfile(req, cam), cam, 'trt:Profile')}</trt:GetProfileResponse>`,
  },
  GetVideoSources: {
    public: false,
    handle: (_req, cam) =>
      `<trt:GetVideoSourcesResponse><trt:VideoSources token="VideoSource_1"><tt:Framerate>${cam.spec.fps}</tt:Framerate>` +
      `<tt:Resolution><tt:Width>${cam.spec.width}</tt:Width><tt:Height>${cam.spec.height}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`,
  },
  GetStreamUri: {
    public: false,
    handle: (req, cam) => {
      const setup = child(req, NS.trt, 'StreamSetup');
      const stream = childText(setup, [NS.tt, 'Stream']);
      const protocol = childText(setup, [NS.tt, 'Transport'], [NS.tt, 'Protocol']);
      if (stream !== undefined && stream !== 'RTP-Unicast') throw invalidArg('InvalidStreamSetup', `Stream type ${stream} is not supported`);
      if (protocol !== undefined && !['RTSP', 'TCP', 'UDP'].includes(protocol)) {
        throw new SoapFault('Sender', ['InvalidArgVal', 'InvalidStreamSetup'], `Transport protocol ${protocol} is not supported`);
      }
      return mediaUri(cam.rtspUrl(requestedProfile(req, cam)), 'trt:GetStreamUriResponse');
    },
  },
  GetSnapshotUri: {
    public: false,
    handle: (req, cam) => mediaUri(cam.snapshotUrl(requestedProfile(req, cam).token), 'trt:GetSnapshotUriResponse'),
  },
};
