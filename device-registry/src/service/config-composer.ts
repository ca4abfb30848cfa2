import { builtinProfiles, createCatalog, DEFAULT_TOPIC_PREFIX, resolveGatewayConfig, type ProfileCatalog } from '@cityedge/contract';
import type { Gateway } from '../repos/gateways-repo.js';
import type { DeviceRecord, LineRecord } from '../repos/inventory-repo.js';
import { RegistryError, type ProblemItem } from '../errors.js';
import type { BrokerInfo } from './ports.js';

export type ConfigDocument = Record<string, unknown>;

/**
 * Builds a gateway's configuration document from its records and validates documents with the
 * agent's own schema (contract resolveGatewayConfig), so the registry never accepts a document
 * the agent would refuse.
 */
export class ConfigComposer {
  readonly catalog: ProfileCatalog;

  constructor(
    private readonly broker: BrokerInfo,
    /** Fleet-wide settings a composed document starts from; the records win where they say something. */
    private readonly defaults: ConfigDocument = {},
  ) {
    this.catalog = createCatalog(builtinProfiles);
  }

  /**
   * The document of a gateway's records. A Firmata line carries its board's devices (groups of
   * pins) in its own record; device records belong to Modbus lines. `rules` is the gateway's
   * rules record, if it has one.
   */
  compose(gateway: Gateway, lines: readonly LineRecord[], devices: readonly DeviceRecord[], rules?: Record<string, unknown>): ConfigDocument {
    const { forwarding: defaultForwarding, ...defaults } = this.defaults as { forwarding?: Record<string, unknown> } & ConfigDocument;
    return {
      ...defaults,
      version: gateway.lastConfigVersion,
      gateway: { id: gateway.id, ...(gateway.name !== null && { name: gateway.name }), ...(gateway.siteId !== null && { site: gateway.siteId }) },
      lines: lines.map((l) => ({
        id: l.id,
        type: l.type,
        ...(l.path !== null && { path: l.path }),
        ...(l.host !== null && { host: l.host }),
        ...(l.port !== null && { port: l.port }),
        ...l.settings,
        ...(l.type !== 'firmata' && { devices: devices.filter((d) => d.lineId === l.id).map(deviceEntry) }),
      })),
      ...(rules !== undefined && { rules }),
      // The password is not in the document: the agent uses the one it received at enrollment.
      forwarding: {
        ...defaultForwarding,
        brokerUrl: this.broker.url,
        ...(this.broker.urls && this.broker.urls.length > 1 && { brokerUrls: this.broker.urls.filter((u) => u !== this.broker.url) }),
        ...(this.broker.persistentSessions && { cleanSession: false }),
        topicPrefix: this.broker.topicPrefix ?? DEFAULT_TOPIC_PREFIX, username: gateway.id, clientId: gateway.id },
    };
  }

  /** Every problem of a document, with its path; empty when the agent would accept it. */
  validate(document: ConfigDocument): ProblemItem[] {
    const r = resolveGatewayConfig(document, this.catalog);
    return r.ok ? [] : r.problems;
  }
}

function deviceEntry(d: DeviceRecord): Record<string, unknown> {
  return {
    id: d.id,
    ...(d.name !== null && { name: d.name }),
    profile: d.profile,
    ...(d.unitId !== null && { unitId: d.unitId }),
    ...(d.pollIntervalMs !== null && { pollIntervalMs: d.pollIntervalMs }),
    ...(d.timeoutMs !== null && { timeoutMs: d.timeoutMs }),
    enabled: d.enabled,
    addressOffset: d.addressOffset,
    points: d.points,
  };
}

/**
 * Maps document problems to request fields: a problem inside `docPath` (the record being
 * changed) is named as `bodyPrefix` + the rest of its path; others keep their document path.
 */
export function problemsToFields(problems: readonly ProblemItem[], docPath: string, bodyPrefix: string): ProblemItem[] {
  return problems.map((p) => {
    if (p.path === docPath) return { path: bodyPrefix, message: p.message };
    if (p.path.startsWith(docPath + '.') || p.path.startsWith(docPath + '[')) return { path: bodyPrefix + p.path.slice(docPath.length), message: p.message };
    return { path: `config.${p.path}`, message: p.message };
  });
}

/**
 * Refuses a change to a gateway's records (REG_VALIDATION, every problem with its path) when the
 * document composed with it has problems: those inside `docPath` are named as request fields
 * (`body...`, then `rename`d, e.g. body.id -> params.lineId), others by their document path.
 */
export function refuseProblems(problems: readonly ProblemItem[], docPath: string, rename: Record<string, string> = {}): void {
  const fields = problemsToFields(problems, docPath, 'body').map((p) => {
    const to = Object.entries(rename).find(([from]) => p.path === from || p.path.startsWith(from + '.') || p.path.startsWith(from + '['));
    return to ? { ...p, path: to[1] + p.path.slice(to[0].length) } : p;
  });
  const first = fields[0];
  if (first) throw new RegistryError('REG_VALIDATION', fields.map((p) => `${p.path}: ${p.message}`).join('; '), { field: first.path, problems: fields });
}
