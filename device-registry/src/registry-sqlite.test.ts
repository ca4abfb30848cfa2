import { registrySuite } from './testing/registry-suite.js';
import { sqliteStoreFactory } from './testing/stores.js';

registrySuite('SQLite', sqliteStoreFactory);
