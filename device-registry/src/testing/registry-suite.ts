import { afterEach, beforeEach, describe } from 'vitest';
import { startTestRegistry, type TestRegistry } from './harness.js';
import type { StoreFactory, TestStore } from './stores.js';
import { apiSuite } from './suite-api.js';
import { cameraSuite } from './suite-cameras.js';
import { commandsSuite } from './suite-commands.js';
import { configSuite } from './suite-config.js';
import { consoleSuite } from './suite-console.js';
import { enrollmentSuite } from './suite-enrollment.js';
import { eventsAlarmsSuite } from './suite-events-alarms.js';
import { fleetSuite } from './suite-fleet.js';
import { rulesSuite } from './suite-rules.js';

/**
 * The registry's contract suite: the same tests over any store (SQLite in `npm test`,
 * PostgreSQL in the integration tests). Each test gets a fresh database from `makeStore`.
 */
export function registrySuite(name: string, makeStore: StoreFactory): void {
  describe(`device registry on ${name}`, () => {
    let handle: TestStore | undefined;
    let registry: TestRegistry | undefined;
    beforeEach(async () => {
      handle = await makeStore();
      registry = await startTestRegistry(handle.store);
    });
    afterEach(async () => {
      await registry?.close();
      await handle?.cleanup();
      registry = undefined;
      handle = undefined;
    });
    const reg = (): TestRegistry => {
      if (!registry) throw new Error('registry not started');
      return registry;
    };
    enrollmentSuite(reg);
    apiSuite(reg);
    configSuite(reg);
    fleetSuite(reg);
    cameraSuite(reg);
    eventsAlarmsSuite(reg);
    commandsSuite(reg);
    rulesSuite(reg);
    consoleSuite(reg);
  });
}
