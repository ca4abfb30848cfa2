import { registrySuite } from '../../device-registry/src/testing/registry-suite.js';
import { postgresStoreFactory } from '../../device-registry/src/testing/stores.js';

/**
 * The registry's contract suite on PostgreSQL: every test in a throwaway database created
 * through REGISTRY_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 * Fails, never skips, when PostgreSQL is unreachable.
 */
registrySuite('PostgreSQL', postgresStoreFactory(process.env.REGISTRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'));
