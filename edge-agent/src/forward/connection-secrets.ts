import { readFileSync } from 'node:fs';
import { EdgeError, type ForwardingConfig } from '@cityedge/contract';

/** EDGE_FORWARD_CONFIG: a file the forwarding configuration names cannot be read. */
export class ForwarderError extends EdgeError<'EDGE_FORWARD_CONFIG'> {
  override readonly name = 'ForwarderError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super('EDGE_FORWARD_CONFIG', message, options);
  }
}

/** What the broker connection needs beyond the URL; read once at start. Never logged. */
export interface ConnectionSecrets {
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

function readConfigured(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ForwarderError(`${field}: cannot read "${path}" (${code})`, { cause: err });
  }
}

/** Reads the password file and TLS files; throws EDGE_FORWARD_CONFIG naming the config field. */
export function loadConnectionSecrets(config: ForwardingConfig): ConnectionSecrets {
  const secrets: ConnectionSecrets = { rejectUnauthorized: config.tls?.rejectUnauthorized ?? true };
  if (config.passwordFile !== undefined) {
    secrets.password = readConfigured('forwarding.passwordFile', config.passwordFile).toString('utf8').replace(/\r?\n$/, '');
  } else if (config.password !== undefined) {
    secrets.password = config.password;
  }
  const tls = config.tls;
  if (tls?.caFile !== undefined) secrets.ca = readConfigured('forwarding.tls.caFile', tls.caFile);
  if (tls?.certFile !== undefined) secrets.cert = readConfigured('forwarding.tls.certFile', tls.certFile);
  if (tls?.keyFile !== undefined) secrets.key = readConfigured('forwarding.tls.keyFile', tls.keyFile);
  if ((secrets.cert === undefined) !== (secrets.key === undefined)) {
    throw new ForwarderError(`forwarding.tls: certFile and keyFile go together (got only ${secrets.cert ? 'certFile' : 'keyFile'})`);
  }
  return secrets;
}

/** The broker URL without user info, for logs. */
export function redactBrokerUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

/** Whether an MQTT topic filter (with + and #) matches a topic. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return i < t.length || i === t.length;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
