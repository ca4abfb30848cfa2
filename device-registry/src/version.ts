/** The registry's version, shown in OpenAPI and /healthz. */
export const REGISTRY_VERSION = '0.1.0';
