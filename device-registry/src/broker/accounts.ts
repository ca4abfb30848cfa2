import { createHash, timingSafeEqual } from 'node:crypto';
import { isValidGatewayId } from '@cityedge/contract';
import type { AccountRole } from './acl.js';
import { BrokerError } from './errors.js';

/** A broker account that is not a gateway: the registry's service account, consumers. */
export interface BrokerAccount {
  /** Must not be a valid gateway id (e.g. start it with "_"). */
  username: string;
  password: string;
  role: AccountRole;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The accounts of a broker mode, checked once (names never gateway ids, no empty password, no duplicates); passwords kept as digests. */
export class AccountTable {
  private readonly byName = new Map<string, { hash: Buffer; role: AccountRole }>();

  constructor(accounts: readonly BrokerAccount[]) {
    for (const a of accounts) {
      if (isValidGatewayId(a.username)) throw new BrokerError('REG_BROKER_CONFIG', `broker account "${a.username}" looks like a gateway id; start account names with "_"`);
      if (!a.password) throw new BrokerError('REG_BROKER_CONFIG', `broker account "${a.username}" has an empty password`);
      if (this.byName.has(a.username)) throw new BrokerError('REG_BROKER_CONFIG', `broker account "${a.username}" is configured twice`);
      this.byName.set(a.username, { hash: digest(a.password), role: a.role });
    }
  }

  role(username: string): AccountRole | undefined {
    return this.byName.get(username)?.role;
  }

  /** Constant-time password check of a known account. */
  passwordMatches(username: string, password: string): boolean {
    const a = this.byName.get(username);
    return !!a && timingSafeEqual(digest(password), a.hash);
  }
}
