import type { EnrollResponse } from '@cityedge/contract';
import type { ProblemItem } from '../errors.js';
import type { ConfigVersion, ConfigVersionSummary } from '../repos/configs-repo.js';
import type { DeviceRecord, LineType } from '../repos/inventory-repo.js';
import type { Site } from '../repos/sites-repo.js';
import type { ApiToken, Role } from '../repos/tokens-repo.js';
import type { AuditEntry } from '../repos/audit-repo.js';
import type { AlarmRecord } from '../repos/alarms-repo.js';
import type { DiscoveredCameraRecord } from '../repos/camera-status-repo.js';
import type { CommandRecord } from '../repos/commands-repo.js';
import type { StoredReading } from '../repos/telemetry-repo.js';
import type { AlarmView as AlarmWithHistory } from '../service/alarm-service.js';
import type { SentCommand } from '../service/command-service.js';
import type { IssuedConfig } from '../service/config-service.js';
import type { DeviceInput, LineInput } from '../service/device-service.js';
import type { GatewayView } from '../service/gateway-service.js';
import type { RolloutInput, RolloutView } from '../service/rollout-service.js';
import type { RulesRecord } from '../repos/rules-repo.js';
import type { SiteInput } from '../service/site-service.js';

// Wire shapes: the registry's own types (type-only imports; nothing of the server is bundled).
export type RulesView = RulesRecord;
export type { AuditEntry, ConfigVersion, ConfigVersionSummary, IssuedConfig, DeviceInput, DeviceRecord, GatewayView, LineInput, ProblemItem, Role, RolloutInput, RolloutView, Site, SiteInput, ApiToken };

export interface LineView {
  id: string;
  type: LineType;
  path?: string;
  host?: string;
  port?: number;
  createdAt: number;
  updatedAt: number;
  /** Serial settings and scheduler knobs (baudRate, parity, timeoutMs, ...). */
  [setting: string]: unknown;
}

export interface EnrollmentCodeView {
  /** Single use; the registry shows it only in this answer. */
  code: string;
  expiresAt: number;
}

export interface GatewayCreateInput {
  id: string;
  siteId?: string | null;
  name?: string | null;
  tags?: string[];
  codeTtlSeconds?: number;
}

export interface CreatedToken extends ApiToken {
  /** The token itself, shown only in this answer. */
  token: string;
}

export interface RegistryClientOptions {
  /** http(s)://host:port of the registry, e.g. http://127.0.0.1:8780 */
  baseUrl: string;
  /** Operator API token (Authorization: Bearer). */
  token?: string;
  /** Per-request time limit; default 10 s. */
  timeoutMs?: number;
  /** Aborts every request (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * In a browser signed in with the session cookie (the console): the session's CSRF token,
   * sent as `x-csrf-token` on unsafe methods. Change it with `setCsrfToken` after sign-in.
   */
  csrfToken?: string;
}

/** A 4xx/5xx answer of the registry: `{ error: { code, message, field?, problems? } }`. */
export class RegistryApiError extends Error {
  override readonly name = 'RegistryApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly problems?: ProblemItem[],
  ) {
    super(message);
  }
}

export type ClientErrorCode = 'EDGECTL_UNREACHABLE' | 'EDGECTL_TIMEOUT' | 'EDGECTL_BAD_RESPONSE';

/** The registry could not be reached, did not answer in time, or answered something not its own. */
export class RegistryClientError extends Error {
  override readonly name = 'RegistryClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NET_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
};

/** The base URL without credentials, query or trailing slash (for messages). */
export function displayUrl(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '(invalid URL)';
  }
}

function netReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code) return `${NET_REASONS[code] ?? (typeof cause?.message === 'string' ? cause.message : 'network error')} (${code})`;
  return typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
}

const seg = (s: string | number) => encodeURIComponent(String(s));

/**
 * A typed client of the registry's HTTP API (README "HTTP API"), over Node's fetch. Every
 * method resolves with the answer body or throws a RegistryApiError (the registry said no) or a
 * RegistryClientError (unreachable, timed out, not the registry); an abort of `signal` rejects
 * with the AbortError. The token is sent only in the Authorization header.
 */
export class RegistryClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private csrfToken: string | undefined;

  constructor(o: RegistryClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.token = o.token;
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.signal = o.signal;
    this.csrfToken = o.csrfToken;
  }

  setCsrfToken(token: string | undefined): void {
    this.csrfToken = token;
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, query?: Record<string, string | undefined>): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const shown = displayUrl(this.baseUrl);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.csrfToken !== undefined && method !== 'GET') headers['x-csrf-token'] = this.csrfToken;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { method, headers, signal, credentials: 'same-origin', ...(body !== undefined && { body: JSON.stringify(body) }) });
      text = await res.text();
    } catch (err) {
      if (this.signal?.aborted) throw this.signal.reason;
      if (timeout.aborted) throw new RegistryClientError('EDGECTL_TIMEOUT', `the registry at ${shown} did not answer within ${this.timeoutMs / 1000} s`, shown, { cause: err });
      throw new RegistryClientError('EDGECTL_UNREACHABLE', `cannot reach the registry at ${shown}: ${netReason(err)}`, shown, { cause: err });
    }
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new RegistryClientError('EDGECTL_BAD_RESPONSE', `${shown} answered ${method} ${path} with HTTP ${res.status} and a body that is not JSON; is it the registry?`, shown);
      }
    }
    if (res.ok) return parsed as T;
    const e = (parsed as { error?: { code?: unknown; message?: unknown; field?: unknown; problems?: unknown } } | undefined)?.error;
    if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') {
      throw new RegistryClientError('EDGECTL_BAD_RESPONSE', `${shown} answered ${method} ${path} with HTTP ${res.status} without a registry error body; is it the registry?`, shown);
    }
    throw new RegistryApiError(res.status, e.code, e.message, typeof e.field === 'string' ? e.field : undefined, Array.isArray(e.problems) ? (e.problems as ProblemItem[]) : undefined);
  }

  health(): Promise<{ status: string; version: string }> {
    return this.request('GET', '/healthz');
  }

  // --- sites ---
  async listSites(): Promise<Site[]> {
    return (await this.request<{ sites: Site[] }>('GET', '/v1/sites')).sites;
  }
  getSite(id: string): Promise<Site> {
    return this.request('GET', `/v1/sites/${seg(id)}`);
  }
  createSite(input: SiteInput): Promise<Site> {
    return this.request('POST', '/v1/sites', input);
  }

  // --- gateways ---
  async listGateways(filter: { site?: string; tag?: string } = {}): Promise<GatewayView[]> {
    return (await this.request<{ gateways: GatewayView[] }>('GET', '/v1/gateways', undefined, filter)).gateways;
  }
  getGateway(id: string): Promise<GatewayView> {
    return this.request('GET', `/v1/gateways/${seg(id)}`);
  }
  createGateway(input: GatewayCreateInput): Promise<{ gateway: GatewayView; enrollment: EnrollmentCodeView }> {
    return this.request('POST', '/v1/gateways', input);
  }
  /** A new enrollment code, replacing unused ones. */
  issueEnrollmentCode(gatewayId: string, ttlSeconds?: number): Promise<EnrollmentCodeView> {
    return this.request('POST', `/v1/gateways/${seg(gatewayId)}/enrollment-codes`, ttlSeconds === undefined ? {} : { ttlSeconds });
  }
  /** What a gateway does with its code (no operator token needed). */
  enroll(code: string, hostname?: string): Promise<EnrollResponse> {
    return this.request('POST', '/v1/enroll', { code, ...(hostname !== undefined && { hostname }) });
  }

  // --- lines and devices ---
  async listLines(gatewayId: string): Promise<LineView[]> {
    return (await this.request<{ lines: LineView[] }>('GET', `/v1/gateways/${seg(gatewayId)}/lines`)).lines;
  }
  /** Creates or replaces the whole line. */
  putLine(gatewayId: string, lineId: string, input: LineInput): Promise<LineView> {
    return this.request('PUT', `/v1/gateways/${seg(gatewayId)}/lines/${seg(lineId)}`, input);
  }
  async deleteLine(gatewayId: string, lineId: string): Promise<void> {
    await this.request('DELETE', `/v1/gateways/${seg(gatewayId)}/lines/${seg(lineId)}`);
  }
  async listDevices(gatewayId: string): Promise<DeviceRecord[]> {
    return (await this.request<{ devices: DeviceRecord[] }>('GET', `/v1/gateways/${seg(gatewayId)}/devices`)).devices;
  }
  getDevice(gatewayId: string, deviceId: string): Promise<DeviceRecord> {
    return this.request('GET', `/v1/gateways/${seg(gatewayId)}/devices/${seg(deviceId)}`);
  }
  addDevice(gatewayId: string, input: DeviceInput & { id: string }): Promise<DeviceRecord> {
    return this.request('POST', `/v1/gateways/${seg(gatewayId)}/devices`, input);
  }
  replaceDevice(gatewayId: string, deviceId: string, input: DeviceInput): Promise<DeviceRecord> {
    return this.request('PUT', `/v1/gateways/${seg(gatewayId)}/devices/${seg(deviceId)}`, input);
  }
  async removeDevice(gatewayId: string, deviceId: string): Promise<void> {
    await this.request('DELETE', `/v1/gateways/${seg(gatewayId)}/devices/${seg(deviceId)}`);
  }

  // --- rules ---
  getRules(gatewayId: string): Promise<RulesView> {
    return this.request('GET', `/v1/gateways/${seg(gatewayId)}/rules`);
  }
  /** Replaces the gateway's rules record (the configuration's `rules` section). */
  putRules(gatewayId: string, rules: Record<string, unknown>): Promise<RulesView> {
    return this.request('PUT', `/v1/gateways/${seg(gatewayId)}/rules`, rules);
  }
  async deleteRules(gatewayId: string): Promise<void> {
    await this.request('DELETE', `/v1/gateways/${seg(gatewayId)}/rules`);
  }

  // --- configuration ---
  previewConfig(gatewayId: string): Promise<{ document: Record<string, unknown>; problems: ProblemItem[] }> {
    return this.request('GET', `/v1/gateways/${seg(gatewayId)}/config/preview`);
  }
  /** Compose from the records, validate, sign, store and publish the next version. */
  pushConfig(gatewayId: string, note?: string): Promise<IssuedConfig> {
    return this.request('POST', `/v1/gateways/${seg(gatewayId)}/configs`, note === undefined ? {} : { note });
  }
  /** A whole configuration document as the next version. */
  putConfigDocument(gatewayId: string, document: Record<string, unknown>, note?: string): Promise<IssuedConfig> {
    return this.request('PUT', `/v1/gateways/${seg(gatewayId)}/config`, { document, ...(note !== undefined && { note }) });
  }
  /** Versions newest first, with their state. */
  async listConfigs(gatewayId: string): Promise<ConfigVersionSummary[]> {
    return (await this.request<{ versions: ConfigVersionSummary[] }>('GET', `/v1/gateways/${seg(gatewayId)}/configs`)).versions;
  }
  getConfig(gatewayId: string, version: number): Promise<ConfigVersion> {
    return this.request('GET', `/v1/gateways/${seg(gatewayId)}/configs/${seg(version)}`);
  }
  /** Re-issues `version`'s document as a new, higher version. */
  rollbackConfig(gatewayId: string, version: number, note?: string): Promise<IssuedConfig> {
    return this.request('POST', `/v1/gateways/${seg(gatewayId)}/configs/${seg(version)}/rollback`, note === undefined ? {} : { note });
  }

  // --- rollouts ---
  startRollout(input: RolloutInput): Promise<RolloutView> {
    return this.request('POST', '/v1/rollouts', input);
  }
  async listRollouts(): Promise<RolloutView[]> {
    return (await this.request<{ rollouts: RolloutView[] }>('GET', '/v1/rollouts')).rollouts;
  }
  getRollout(id: string): Promise<RolloutView> {
    return this.request('GET', `/v1/rollouts/${seg(id)}`);
  }

  // --- API tokens (admin) ---
  async listTokens(): Promise<ApiToken[]> {
    return (await this.request<{ tokens: ApiToken[] }>('GET', '/v1/tokens')).tokens;
  }
  createToken(name: string, role: Role): Promise<CreatedToken> {
    return this.request('POST', '/v1/tokens', { name, role });
  }
  async revokeToken(id: string): Promise<void> {
    await this.request('DELETE', `/v1/tokens/${seg(id)}`);
  }

  // --- audit log ---
  async listAudit(q: { limit?: number; before?: number; targetType?: string; targetId?: string; action?: string } = {}): Promise<AuditEntry[]> {
    const query = { limit: q.limit?.toString(), before: q.before?.toString(), targetType: q.targetType, targetId: q.targetId, action: q.action };
    return (await this.request<{ entries: AuditEntry[] }>('GET', '/v1/audit', undefined, query)).entries;
  }

  // --- console session (cookie; the browser keeps it) ---
  session(): Promise<SessionView> {
    return this.request('GET', '/v1/session');
  }
  signIn(username: string, password: string): Promise<SessionView> {
    return this.request('POST', '/v1/session', { username, password });
  }
  async signOut(): Promise<void> {
    await this.request('DELETE', '/v1/session');
  }

  // --- telemetry ---
  async recentReadings(gatewayId: string, device: string, point?: string, limit?: number): Promise<ReadingRow[]> {
    return (await this.request<{ readings: ReadingRow[] }>('GET', `/v1/gateways/${seg(gatewayId)}/readings`, undefined, { device, point, limit: limit?.toString() })).readings;
  }

  // --- alarms ---
  async listAlarms(q: { state?: string; site?: string; gateway?: string; limit?: number } = {}): Promise<AlarmView[]> {
    return (await this.request<{ alarms: AlarmView[] }>('GET', '/v1/alarms', undefined, { state: q.state, site: q.site, gateway: q.gateway, limit: q.limit?.toString() })).alarms;
  }
  acknowledgeAlarm(id: number, note?: string): Promise<AlarmWithHistory> {
    return this.request('POST', `/v1/alarms/${seg(id)}/ack`, note === undefined ? {} : { note });
  }

  // --- commands ---
  sendCommand(gatewayId: string, name: string, args?: Record<string, unknown>): Promise<SentCommand> {
    return this.request('POST', `/v1/gateways/${seg(gatewayId)}/commands`, { name, ...(args !== undefined && { args }) });
  }
  getCommand(id: string): Promise<CommandRecord> {
    return this.request('GET', `/v1/commands/${seg(id)}`);
  }

  // --- cameras ---
  async cameraStatuses(gatewayId?: string): Promise<CameraStatusView[]> {
    const path = gatewayId === undefined ? '/v1/cameras/status' : `/v1/gateways/${seg(gatewayId)}/cameras/status`;
    return (await this.request<{ cameras: CameraStatusView[] }>('GET', path)).cameras;
  }
  async discoveredCameras(gatewayId: string): Promise<DiscoveredCameraRecord[]> {
    return (await this.request<{ discovered: DiscoveredCameraRecord[] }>('GET', `/v1/gateways/${seg(gatewayId)}/discovered-cameras`)).discovered;
  }
  decideDiscoveredCamera(gatewayId: string, epr: string, decision: 'accept' | 'dismiss', body: Record<string, unknown> = {}): Promise<unknown> {
    return this.request('POST', `/v1/gateways/${seg(gatewayId)}/discovered-cameras/${seg(epr)}/${decision}`, body);
  }
  liveTicket(gatewayId: string, cameraId: string): Promise<LiveTicket> {
    return this.request('POST', `/v1/gateways/${seg(gatewayId)}/cameras/${seg(cameraId)}/live`, {});
  }
}

/** A reading as GET /v1/gateways/{id}/readings returns it. */
export type ReadingRow = Omit<StoredReading, 'gw'>;
export type AlarmView = AlarmRecord;
export type { AlarmWithHistory, CommandRecord, DiscoveredCameraRecord, SentCommand };

export interface SessionView {
  user: { username: string; displayName: string | null; role: Role };
  csrfToken: string;
}




export interface CameraStatusView {
  gatewayId: string;
  cameraId: string;
  siteId?: string | null;
  registered: boolean;
  name: string | null;
  state: string;
  reasons: string[];
  code: string | null;
  since: number | null;
  thumbnail: { ts: number; width: number; height: number } | null;
  updatedAt: number | null;
}


export interface LiveTicket {
  wsUrl: string;
  expiresAt: number;
  profile: string;
  width: number;
  height: number;
  format: 'jsmpeg';
}
