import type { CameraState } from './camera-state.js';
import { NS, SoapFault } from './soap.js';
import { child, esc, type XmlElement } from './xml.js';

/** A SOAP operation: whether it is callable without login (ONVIF access class PRE_AUTH) and its answer. */
export interface Operation {
  public: boolean;
  handle(request: XmlElement, cam: CameraState): string;
}

function dateTimeXml(ms: number): string {
  const d = new Date(ms);
  return (
    `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`
  );
}

function deviceCapabilities(cam: CameraState): string {
  return (
    `<tt:Device><tt:XAddr>${esc(cam.deviceServiceUrl)}</tt:XAddr>` +
    `<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>` +
    `<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>` +
    `<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>` +
    `<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>` +
    `<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2><tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false</tt:AccessPolicyConfig>` +
    `<tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security></tt:Device>`
  );
}

function mediaCapabilities(cam: CameraState): string {
  return (
    `<tt:Media><tt:XAddr>${esc(cam.mediaServiceUrl)}</tt:XAddr><tt:StreamingCapabilities>` +
    `<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>`
  );
}

export function mediaServiceCapabilities(): string {
  return (
    `<trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false">` +
    `<trt:ProfileCapabilities MaximumNumberOfProfiles="2"/>` +
    `<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true" NonAggregateControl="false" NoRTSPStreaming="false"/></trt:Capabilities>`
  );
}

function deviceServiceCapabilities(): string {
  return (
    `<tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false" NTP="1" HostnameFromDHCP="false"/>` +
    `<tds:Security TLS1.0="false" TLS1.1="false" TLS1.2="false" OnboardKeyGeneration="false" AccessPolicyConfig="false" DefaultAccessPolicy="false" Dot1X="false" ` +
    `RemoteUserHandling="false" X.509Token="false" SAMLToken="false" KerberosToken="false" UsernameToken="true" HttpDigest="true" RELToken="false"/>` +
    `<tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false" SystemBackup="false" SystemLogging="false" FirmwareUpgrade="false" ` +
    `HttpFirmwareUpgrade="false" HttpSystemBackup="false" HttpSystemLogging="false" HttpSupportInformation="false"/></tds:Capabilities>`
  );
}

function service(ns: string, xaddr: string, caps: string | undefined, minor: number): string {
  return (
    `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${esc(xaddr)}</tds:XAddr>` +
    (caps === undefined ? '' : `<tds:Capabilities>${caps}</tds:Capabilities>`) +
    `<tds:Version><tt:Major>2</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version></tds:Service>`
  );
}

/** The scopes a camera advertises (GetScopes and WS-Discovery). */
export function scopesOf(cam: CameraState): string[] {
  const enc = (s: string) => encodeURIComponent(s);
  return [
    'onvif://www.onvif.org/type/video_encoder',
    'onvif://www.onvif.org/type/Network_Video_Transmitter',
    'onvif://www.onvif.org/Profile/Streaming',
    `onvif://www.onvif.org/name/${enc(cam.name)}`,
    `onvif://www.onvif.org/hardware/${enc(cam.spec.model)}`,
    `onvif://www.onvif.org/location/${enc(cam.spec.location)}`,
  ];
}

export const deviceOperations: Record<string, Operation> = {
  GetSystemDateAndTime: {
    public: true,
    handle: (_req, cam) => {
      const now = cam.now();
      return (
        `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>` +
        `<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>${dateTimeXml(now)}</tt:UTCDateTime>` +
        `<tt:LocalDateTime>${dateTimeXml(now)}</tt:LocalDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`
      );
    },
  },
  GetCapabilities: {
    public: true,
    handle: (req, cam) => {
      const categories = req.children.filter((c) => c.ns === NS.tds && c.local === 'Category').map((c) => c.text.trim());
      const want = categories.length === 0 ? ['All'] : categories;
      let caps = '';
      if (want.includes('All') || want.includes('Device')) caps += deviceCapabilities(cam);
      if (want.includes('All') || want.includes('Media')) caps += mediaCapabilities(cam);
      if (caps === '') throw new SoapFault('Receiver', ['ActionNotSupported', 'NoSuchService'], `No such service: ${want.join(', ')}`);
      return `<tds:GetCapabilitiesResponse><tds:Capabilities>${caps}</tds:Capabilities></tds:GetCapabilitiesResponse>`;
    },
  },
  GetServices: {
    public: true,
    handle: (req, cam) => {
      const include = child(req, NS.tds, 'IncludeCapability')?.text.trim() === 'true';
      return (
        `<tds:GetServicesResponse>` +
        service(NS.tds, cam.deviceServiceUrl, include ? deviceServiceCapabilities() : undefined, 60) +
        service(NS.trt, cam.mediaServiceUrl, include ? mediaServiceCapabilities() : undefined, 60) +
        `</tds:GetServicesResponse>`
      );
    },
  },
  GetServiceCapabilities: {
    public: true,
    handle: () => `<tds:GetServiceCapabilitiesResponse>${deviceServiceCapabilities()}</tds:GetServiceCapabilitiesResponse>`,
  },
  GetHostname: {
    public: true,
    handle: (_req, cam) =>
      `<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>${esc(cam.spec.id)}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`,
  },
  GetDeviceInformation: {
    public: false,
    handle: (_req, cam) =>
      `<tds:GetDeviceInformationResponse><tds:Manufacturer>${esc(cam.spec.manufacturer)}</tds:Manufacturer><tds:Model>${esc(cam.spec.model)}</tds:Model>` +
      `<tds:FirmwareVersion>${esc(cam.spec.firmware)}</tds:FirmwareVersion><tds:SerialNumber>${esc(cam.serial)}</tds:SerialNumber>` +
      `<tds:HardwareId>${esc(cam.spec.hardwareId)}</tds:HardwareId></tds:GetDeviceInformationResponse>`,
  },
  GetScopes: {
    public: false,
    handle: (_req, cam) =>
      `<tds:GetScopesResponse>${scopesOf(cam)
        .map((s) => `<tds:Scopes><tt:ScopeDef>${s.includes('/name/') || s.includes('/location/') ? 'Configurable' : 'Fixed'}</tt:ScopeDef><tt:ScopeItem>${esc(s)}</tt:ScopeItem></tds:Scopes>`)
        .join('')}</tds:GetScopesResponse>`,
  },
};
