import { DeviceProfile } from './profile-schema.js';
import vegapulsC21 from '../profiles/vegapuls-c21.json' with { type: 'json' };
import geoluxLx80 from '../profiles/geolux-lx80.json' with { type: 'json' };
import pressureLevel from '../profiles/pressure-level.json' with { type: 'json' };
import vaisalaAqt530 from '../profiles/vaisala-aqt530.json' with { type: 'json' };
import sht20 from '../profiles/sht20.json' with { type: 'json' };
import intesisDaliBallast from '../profiles/intesis-dali-ballast.json' with { type: 'json' };
import eastronSdm120 from '../profiles/eastron-sdm120.json' with { type: 'json' };
import relayIo8 from '../profiles/relay-io-8.json' with { type: 'json' };
import intesisDaliChannel from '../profiles/intesis-dali-channel.json' with { type: 'json' };

/** Profiles shipped with the product, validated when first read. */
export const builtinProfiles: readonly DeviceProfile[] = Object.freeze(
  [vegapulsC21, geoluxLx80, pressureLevel, vaisalaAqt530, sht20, intesisDaliBallast, eastronSdm120, relayIo8, intesisDaliChannel].map((p) => DeviceProfile.parse(p)),
);

/** Profiles by id; later entries (user profiles) replace earlier ones (built-ins) of the same id. */
export type ProfileCatalog = ReadonlyMap<string, DeviceProfile>;

export function createCatalog(...groups: ReadonlyArray<readonly DeviceProfile[]>): ProfileCatalog {
  const map = new Map<string, DeviceProfile>();
  for (const group of groups) for (const p of group) map.set(p.id, p);
  return map;
}
