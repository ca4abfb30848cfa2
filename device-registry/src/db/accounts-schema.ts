/** Tables of console accounts and sessions (migration 0006_accounts_sessions). Same conventions as schema.ts. */
export interface AccountsTable {
  username: string;
  display_name: string;
  /** 'admin' | 'technician' | 'viewer' (as API tokens). */
  role: string;
  /** scrypt$N$r$p$salt$hash */
  password_hash: string;
  /** 0 or 1 */
  disabled: number;
  created_at: number;
  created_by: string;
  updated_at: number;
}

export interface SessionsTable {
  /** SHA-256 hex of the cookie value. */
  id_hash: string;
  username: string;
  csrf_token: string;
  created_at: number;
  /** Last request seen (updated at most once a minute): idle expiry counts from it. */
  last_seen_at: number;
  /** Absolute expiry. */
  expires_at: number;
  source_ip: string | null;
}

export interface AccountTables {
  accounts: AccountsTable;
  sessions: SessionsTable;
}
