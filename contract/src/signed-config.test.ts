import { describe, expect, it } from 'vitest';
import { generateSigningKey, signConfig, verifySignedConfig } from './signed-config.js';

describe('signed configuration', () => {
  const key = generateSigningKey();
  const other = generateSigningKey();
  const doc = signConfig({ gatewayId: 'gw-1', version: 5, config: { gateway: { id: 'gw-1' }, lines: [] } }, key.privateKeyPem);
  const expect5 = { gatewayId: 'gw-1', publicKeysPem: [key.publicKeyPem], minVersion: 4 };

  it('verifies a document signed by a trusted key', () => {
    expect(verifySignedConfig(JSON.parse(JSON.stringify(doc)), expect5).version).toBe(5);
  });

  it('is independent of key order in the document', () => {
    const reordered = { sig: doc.sig, config: { lines: [], gateway: { id: 'gw-1' } }, keyId: doc.keyId, issuedAt: doc.issuedAt, version: 5, gatewayId: 'gw-1', v: 1 };
    expect(verifySignedConfig(reordered, expect5).version).toBe(5);
  });

  it.each([
    ['tampered body', { ...doc, config: { ...doc.config, lines: [{ id: 'x' }] } }, expect5, 'bad-signature'],
    ['older version', doc, { ...expect5, minVersion: 5 }, 'old-version'],
    ['unknown key', signConfig({ gatewayId: 'gw-1', version: 6, config: {} }, other.privateKeyPem), expect5, 'unknown-key'],
    ['other gateway', doc, { ...expect5, gatewayId: 'gw-2' }, 'wrong-gateway'],
    ['unsigned', { ...doc, sig: undefined }, expect5, 'malformed'],
    ['version bumped without signing', { ...doc, version: 9 }, expect5, 'bad-signature'],
  ])('rejects a %s', (_name, raw, exp, problem) => {
    expect(() => verifySignedConfig(raw, exp)).toThrow(expect.objectContaining({ problem }));
  });
});
