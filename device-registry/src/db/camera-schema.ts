/**
 * Tables of what gateways report about their cameras (migration 0002_camera_status): the
 * current state and inventory per camera, the newest thumbnail, and devices found by
 * WS-Discovery waiting for a technician. Same conventions as schema.ts.
 */
export interface CameraStatusTable {
  gateway_id: string;
  /** The camera id in the gateway's configuration (also the registry camera id when registered). */
  camera_id: string;
  /** 'unknown' | 'online' | 'degraded' | 'unauthorized' | 'unreachable' | 'misconfigured' */
  state: string;
  /** JSON array of CameraReason strings. */
  reasons: string;
  /** Error code behind the state (from the state-change event), e.g. EDGE_CAMERA_TIMEOUT. */
  code: string | null;
  since: number | null;
  checked_at: number | null;
  /** Gateway time of the newest state information applied (status entry or event): older ones are ignored. */
  observed_at: number;
  clock_skew_ms: number | null;
  codec: string | null;
  width: number | null;
  height: number | null;
  /** JSON CameraInventory, URIs without credentials. */
  inventory: string | null;
  inventory_at: number | null;
  /** Registry time of the last update. */
  updated_at: number;
}

export interface CameraThumbnailsTable {
  gateway_id: string;
  camera_id: string;
  /** Gateway time the thumbnail was taken. */
  ts: number;
  width: number;
  height: number;
  /** Base64 JPEG (size-capped by the follower). */
  data: string;
  received_at: number;
}

export interface DiscoveredCamerasTable {
  gateway_id: string;
  /** WS-Addressing EndpointReference, e.g. urn:uuid:... */
  epr: string;
  name: string | null;
  hardware: string | null;
  location: string | null;
  /** JSON arrays of strings. */
  xaddrs: string;
  scopes: string;
  types: string;
  from_addr: string;
  first_seen: number;
  last_seen: number;
  /** 'discovered' | 'accepted' | 'dismissed' */
  state: string;
  camera_id: string | null;
  decided_by: string | null;
  decided_at: number | null;
}

export interface CameraTables {
  camera_status: CameraStatusTable;
  camera_thumbnails: CameraThumbnailsTable;
  discovered_cameras: DiscoveredCamerasTable;
}
