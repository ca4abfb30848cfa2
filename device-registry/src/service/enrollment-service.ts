import { DEFAULT_TOPIC_PREFIX, type EnrollRequest, type EnrollResponse } from '@cityedge/contract';
import type { Repos, RegistryStore } from '../db/store.js';
import { notFound, RegistryError } from '../errors.js';
import { hashRandomSecret, normalizeEnrollmentCode, randomEnrollmentCode, randomPassword, sha256Hex } from '../security/secrets.js';
import type { SigningKey } from '../security/signing-key.js';
import { actorRef, type CallContext, type ServiceDeps } from './context.js';
import type { BrokerIdentity, BrokerInfo } from './ports.js';

export const DEFAULT_CODE_TTL_MS = 24 * 3600_000;
export const MAX_CODE_TTL_MS = 30 * 24 * 3600_000;

export interface IssuedCode {
  /** Shown once; only its hash is stored. */
  code: string;
  expiresAt: number;
}

export interface EnrollmentOptions {
  brokerInfo: BrokerInfo;
  signingKey: SigningKey;
  /** Extra trusted public keys (PEM) handed to gateways, e.g. the next key during a rotation. */
  extraPublicKeys?: string[];
  brokerIdentity?: BrokerIdentity;
  codeTtlMs?: number;
}

/**
 * Single-use, expiring enrollment codes (stored as SHA-256) exchanged for a gateway's MQTT
 * identity (a fresh random password, stored as a salted SHA-256: hashRandomSecret) and the config-signing public key.
 */
export class EnrollmentService {
  constructor(
    private readonly store: RegistryStore,
    private readonly deps: ServiceDeps,
    private readonly opts: EnrollmentOptions,
  ) {}

  get defaultTtlMs(): number {
    return this.opts.codeTtlMs ?? DEFAULT_CODE_TTL_MS;
  }

  /** Issues a code inside the caller's transaction, replacing the gateway's unused ones. */
  async issueCodeIn(tx: Repos, gatewayId: string, ttlMs: number | undefined, ctx: CallContext): Promise<IssuedCode> {
    const now = this.deps.clock.now();
    const code = randomEnrollmentCode();
    const expiresAt = now + Math.min(ttlMs ?? this.defaultTtlMs, MAX_CODE_TTL_MS);
    await tx.gateways.deleteUnusedCodes(gatewayId);
    await tx.gateways.insertCode({ codeHash: sha256Hex(normalizeEnrollmentCode(code)), gatewayId, createdAt: now, createdBy: actorRef(ctx), expiresAt, usedAt: null });
    await this.deps.auditor.record(tx, ctx, 'enrollment.code.issue', { type: 'gateway', id: gatewayId }, { expiresAt });
    return { code, expiresAt };
  }

  async issueCode(gatewayId: string, ttlMs: number | undefined, ctx: CallContext): Promise<IssuedCode> {
    return this.store.transaction(async (tx) => {
      if (!(await tx.gateways.get(gatewayId))) throw notFound('gateway', gatewayId);
      return this.issueCodeIn(tx, gatewayId, ttlMs, ctx);
    });
  }

  /**
   * Exchanges a code for the gateway's identity. A used, expired or unknown code is refused with
   * its own error; the code is consumed and the password set in one transaction, so a broker
   * that refuses the new credentials leaves the code usable.
   */
  async enroll(req: EnrollRequest, ctx: CallContext & { registryUrl: string }): Promise<EnrollResponse> {
    const codeHash = sha256Hex(normalizeEnrollmentCode(req.code));
    const log = this.deps.logger;
    const found = await this.store.gateways.getCode(codeHash);
    if (!found) {
      log.warn({ sourceIp: ctx.sourceIp }, 'enrollment with an unknown code');
      throw new RegistryError('REG_CODE_INVALID', 'enrollment code not recognised: check it, or ask for a new one', { field: 'body.code' });
    }
    const now = this.deps.clock.now();
    if (found.usedAt !== null) {
      log.warn({ gatewayId: found.gatewayId, sourceIp: ctx.sourceIp }, 'enrollment with a used code');
      throw new RegistryError('REG_CODE_USED', `enrollment code was already used at ${new Date(found.usedAt).toISOString()}; issue a new one`, { field: 'body.code' });
    }
    if (found.expiresAt <= now) {
      log.warn({ gatewayId: found.gatewayId, sourceIp: ctx.sourceIp }, 'enrollment with an expired code');
      throw new RegistryError('REG_CODE_EXPIRED', `enrollment code expired at ${new Date(found.expiresAt).toISOString()}; issue a new one`, { field: 'body.code' });
    }
    const gatewayId = found.gatewayId;
    const password = randomPassword();
    // 32 random bytes: a fast salted hash (see hashRandomSecret), checked at every broker login.
    const passwordHash = hashRandomSecret(password);
    const hostname = req.hostname ?? null;
    await this.store.transaction(async (tx) => {
      if (!(await tx.gateways.claimCode(codeHash, this.deps.clock.now()))) {
        throw new RegistryError('REG_CODE_USED', 'enrollment code was already used; issue a new one', { field: 'body.code' });
      }
      const firstTime = (await tx.gateways.get(gatewayId))?.enrolledAt === null;
      await tx.gateways.setCredentials(gatewayId, { passwordHash, hostname, now: this.deps.clock.now() });
      await this.deps.auditor.record(tx, { ...ctx, actor: { kind: 'enrollment' } }, 'gateway.enroll', { type: 'gateway', id: gatewayId }, { hostname });
      if (this.opts.brokerIdentity) {
        try {
          if (firstTime) await this.opts.brokerIdentity.provisionGateway(gatewayId, password);
          else await this.opts.brokerIdentity.setGatewayPassword(gatewayId, password);
        } catch (err) {
          log.error({ err: scrub(err, password), gatewayId }, 'broker refused the new gateway credentials');
          throw new RegistryError('REG_BROKER_UNAVAILABLE', 'the broker did not take the new credentials; the code is still valid, retry');
        }
      }
    });
    log.info({ gatewayId, hostname, sourceIp: ctx.sourceIp }, 'gateway enrolled');
    return {
      gatewayId,
      mqtt: { url: this.opts.brokerInfo.url, username: gatewayId, password, topicPrefix: this.opts.brokerInfo.topicPrefix ?? DEFAULT_TOPIC_PREFIX },
      configPublicKeys: [this.opts.signingKey.publicKeyPem, ...(this.opts.extraPublicKeys ?? [])],
      registryUrl: ctx.registryUrl,
    };
  }
}


/** An error message from a broker client could echo the password; keep it out of the log. */
function scrub(err: unknown, secret: string): { message: string; code?: unknown } {
  const message = err instanceof Error ? err.message : String(err);
  return { message: message.split(secret).join('[redacted]'), code: (err as { code?: unknown } | null)?.code };
}
