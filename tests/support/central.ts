import { startCentral, type Central } from '@cityedge/device-registry';
import { quiet, tempDir } from './fixtures.js';

export interface TestCentralOptions {
  adminToken: string;
  /** Broker accounts besides the registry's and the gateways', e.g. a central consumer. */
  accounts?: Array<{ username: string; password: string; role: 'consumer' }>;
  /** Fleet-wide settings of composed configurations (e.g. a short OTA health window). */
  documentDefaults?: Record<string, unknown>;
}

/** The central side on loopback: registry (SQLite in a temp dir) and its embedded broker on free ports. */
export function startTestCentral(o: TestCentralOptions): Promise<Central> {
  return startCentral({
    dataDir: tempDir('cityedge-registry-'),
    logger: quiet,
    http: { host: '127.0.0.1', port: 0 },
    broker: { mode: 'embedded', host: '127.0.0.1', port: 0, ...(o.accounts && { accounts: o.accounts }) },
    adminToken: o.adminToken,
    ...(o.documentDefaults && { documentDefaults: o.documentDefaults }),
  });
}
