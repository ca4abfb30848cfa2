import { RegistryApiError, RegistryClient, type SessionView } from '../../device-registry/src/cli/registry-client';

export * from '../../device-registry/src/cli/registry-client';

/** The registry's client shared with edgectl, here with the session cookie and its CSRF token. */
export const api = new RegistryClient({ baseUrl: globalThis.location?.origin ?? 'http://localhost', timeoutMs: 20_000 });

export type User = SessionView['user'];

/** The field errors of a 4xx answer: request field ("unitId", "points.level.scale") → message. */
export function fieldErrors(err: unknown): { fields: Record<string, string>; general: string | undefined } {
  const fields: Record<string, string> = {};
  if (!(err instanceof RegistryApiError)) return { fields, general: err instanceof Error ? err.message : String(err) };
  const strip = (p: string) => p.replace(/^body\.?/, '');
  for (const p of err.problems ?? []) fields[strip(p.path)] ??= p.message;
  if (err.field !== undefined) fields[strip(err.field)] ??= err.message;
  const general = Object.keys(fields).length === 0 ? `${err.message} (${err.code})` : undefined;
  return { fields, general };
}

export function errorText(err: unknown): string {
  if (err instanceof RegistryApiError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
