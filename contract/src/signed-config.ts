import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, createHash, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from 'zod';
import { EdgeError } from './edge-errors.js';

/**
 * A gateway configuration as the registry delivers it: the configuration document, bound to
 * one gateway and a version that only goes up, signed with the registry's Ed25519 key over the
 * RFC 8785 canonical JSON of everything but the signature. Delivered retained on
 * `{prefix}/{gw}/config` and over HTTP as a fallback.
 */
export const SignedConfig = z.strictObject({
  v: z.literal(1),
  gatewayId: z.string().min(1),
  version: z.int().min(1),
  /** ms since the epoch, when the registry signed it. */
  issuedAt: z.int().min(0),
  /** Id of the signing key: the first 16 hex digits of SHA-256 over its raw public key. */
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  /** The gateway configuration document (validated separately by the receiver). */
  config: z.record(z.string(), z.unknown()),
  /** Base64 Ed25519 signature. */
  sig: z.string().min(1),
});
export type SignedConfig = z.infer<typeof SignedConfig>;

export type SignatureProblem = 'malformed' | 'wrong-gateway' | 'unknown-key' | 'bad-signature' | 'old-version';

export class ConfigSignatureError extends EdgeError<'EDGE_CONFIG_REJECTED'> {
  override readonly name = 'ConfigSignatureError';
  constructor(
    readonly problem: SignatureProblem,
    message: string,
  ) {
    super('EDGE_CONFIG_REJECTED', message);
  }
}

function signedBytes(doc: Omit<SignedConfig, 'sig'>): Buffer {
  const { v, gatewayId, version, issuedAt, keyId, config } = doc;
  return Buffer.from(canonicalize({ v, gatewayId, version, issuedAt, keyId, config }) ?? '', 'utf8');
}

/**
 * Signs any document (commands use this too): the Ed25519 signature over the RFC 8785 canonical
 * JSON of the document with its `keyId` and without `sig`.
 */
export function signCanonical<T extends Record<string, unknown>>(body: T, privateKeyPem: string): T & { keyId: string; sig: string } {
  const privateKey = createPrivateKey(privateKeyPem);
  const doc = { ...body, keyId: keyIdOf(createPublicKey(privateKey)) };
  return { ...doc, sig: sign(null, Buffer.from(canonicalize(doc) ?? '', 'utf8'), privateKey).toString('base64') };
}

/** Checks a document signed with signCanonical against trusted public keys. */
export function verifyCanonical(doc: Record<string, unknown> & { keyId: string; sig: string }, publicKeysPem: readonly string[]): 'ok' | 'unknown-key' | 'bad-signature' {
  const key = publicKeysPem.map((pem) => createPublicKey(pem)).find((k) => keyIdOf(k) === doc.keyId);
  if (!key) return 'unknown-key';
  const { sig, ...body } = doc;
  return verify(null, Buffer.from(canonicalize(body) ?? '', 'utf8'), key, Buffer.from(sig, 'base64')) ? 'ok' : 'bad-signature';
}

/** The key id of a public key: the first 16 hex digits of SHA-256 over its raw 32 bytes. */
export function keyIdOf(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export function generateSigningKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function signConfig(
  input: { gatewayId: string; version: number; config: Record<string, unknown>; issuedAt?: number },
  privateKeyPem: string,
): SignedConfig {
  const privateKey = createPrivateKey(privateKeyPem);
  const doc = {
    v: 1 as const,
    gatewayId: input.gatewayId,
    version: input.version,
    issuedAt: input.issuedAt ?? Date.now(),
    keyId: keyIdOf(createPublicKey(privateKey)),
    config: input.config,
  };
  return { ...doc, sig: sign(null, signedBytes(doc), privateKey).toString('base64') };
}

/**
 * Checks a delivered document: well-formed, for this gateway, signed by a trusted key and newer
 * than `minVersion` (the version the gateway runs or last rejected as a rollback). Throws
 * ConfigSignatureError naming the problem; returns the verified document.
 */
export function verifySignedConfig(raw: unknown, expect: { gatewayId: string; publicKeysPem: readonly string[]; minVersion: number }): SignedConfig {
  const parsed = SignedConfig.safeParse(raw);
  if (!parsed.success) throw new ConfigSignatureError('malformed', `not a signed configuration: ${parsed.error.issues[0]?.path.join('.') || '(root)'}: ${parsed.error.issues[0]?.message}`);
  const doc = parsed.data;
  if (doc.gatewayId !== expect.gatewayId) throw new ConfigSignatureError('wrong-gateway', `configuration is for gateway "${doc.gatewayId}", not "${expect.gatewayId}"`);
  const key = expect.publicKeysPem.map((pem) => createPublicKey(pem)).find((k) => keyIdOf(k) === doc.keyId);
  if (!key) throw new ConfigSignatureError('unknown-key', `configuration is signed with key ${doc.keyId}, which this gateway does not trust`);
  const { sig, ...body } = doc;
  if (!verify(null, signedBytes(body), key, Buffer.from(sig, 'base64'))) throw new ConfigSignatureError('bad-signature', 'configuration signature does not verify: the document was altered or signed with another key');
  if (doc.version <= expect.minVersion) throw new ConfigSignatureError('old-version', `configuration version ${doc.version} is not newer than ${expect.minVersion}`);
  return doc;
}

/** POST {registry}/v1/enroll body and answer. */
export interface EnrollRequest {
  code: string;
  /** Free text for the audit log, e.g. the hostname. */
  hostname?: string;
}

export interface EnrollResponse {
  gatewayId: string;
  mqtt: { url: string; username: string; password: string; topicPrefix: string };
  /** Public keys (PEM) whose configuration signatures the gateway trusts. */
  configPublicKeys: string[];
  registryUrl: string;
}
