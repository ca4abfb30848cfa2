import { createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey, keyIdOf } from '@cityedge/contract';

/** The registry's Ed25519 configuration-signing key. */
export interface SigningKey {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}

export const SIGNING_KEY_FILE = 'config-signing-key.pem';

export function signingKeyFromPem(privateKeyPem: string): SigningKey {
  const publicKey = createPublicKey(createPrivateKey(privateKeyPem));
  return { privateKeyPem, publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(), keyId: keyIdOf(publicKey) };
}

/** Reads the key (PKCS8 PEM) from dataDir, creating it with mode 0600 on first start. */
export function loadOrCreateSigningKey(dataDir: string): SigningKey & { created: boolean } {
  const file = join(dataDir, SIGNING_KEY_FILE);
  if (existsSync(file)) return { ...signingKeyFromPem(readFileSync(file, 'utf8')), created: false };
  const { privateKeyPem } = generateSigningKey();
  writeFileSync(file, privateKeyPem, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { ...signingKeyFromPem(privateKeyPem), created: true };
}
