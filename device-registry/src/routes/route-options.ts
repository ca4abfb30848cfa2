import type { RegistryServices } from '../service/registry-services.js';

/** Every resource plugin gets the services; routes stay thin and call them. */
export interface RouteOptions {
  services: RegistryServices;
}
