import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERRORS, RegistryError, type RegistryErrorCode } from '../errors.js';

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/points/0/name` -> `.points[0].name` */
function jsonPointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((seg) => seg.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : /^[A-Za-z_$][\w$]*$/.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`))
    .join('');
}

/** A request-validation failure as `{ field, message }`, e.g. `body.unitId: must be <= 247`. */
export function describeValidation(context: string, issue: AjvIssue): { field: string; message: string } {
  let field = context + jsonPointerToPath(issue.instancePath ?? '');
  let text = issue.message ?? 'is invalid';
  const p = issue.params ?? {};
  if (issue.keyword === 'required' && typeof p.missingProperty === 'string') {
    field += `.${p.missingProperty}`;
    text = 'is required';
  } else if (issue.keyword === 'additionalProperties' && typeof p.additionalProperty === 'string') {
    field += `.${p.additionalProperty}`;
    text = 'is not a known field';
  } else if (issue.keyword === 'enum' && Array.isArray(p.allowedValues)) {
    text = `must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.keyword === 'pattern' && typeof p.pattern === 'string') {
    text = `must match ${p.pattern}`;
  }
  return { field, message: `${field}: ${text}` };
}

function send(reply: FastifyReply, code: RegistryErrorCode, message: string, extra: { field?: string | undefined; problems?: unknown; headers?: Record<string, string> | undefined } = {}): FastifyReply {
  if (extra.headers) for (const [k, v] of Object.entries(extra.headers)) reply.header(k, v);
  return reply.code(ERRORS[code].status).send({
    error: { code, message, ...(extra.field !== undefined && { field: extra.field }), ...(extra.problems !== undefined && { problems: extra.problems }) },
  });
}

const FASTIFY_CODES: Record<string, RegistryErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'REG_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REG_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'REG_MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'REG_MALFORMED_BODY',
};

/**
 * Every error becomes `{ error: { code, message, field? } }`: bad input a 4xx naming the field,
 * anything unexpected a 500 with the request id, never a stack trace.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | RegistryError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof RegistryError) {
      if (err.status >= 500) req.log.error({ err }, err.message);
      return send(reply, err.code, err.message, { field: err.field, problems: err.problems, headers: err.headers });
    }
    const fe = err as FastifyError;
    if (fe.validation && fe.validation.length > 0) {
      const { field, message } = describeValidation(fe.validationContext ?? 'request', fe.validation[0] as AjvIssue);
      return send(reply, 'REG_VALIDATION', message, { field });
    }
    const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) return send(reply, mapped, fe.message);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return send(reply, 'REG_BAD_REQUEST', fe.message);
    req.log.error({ err }, 'request failed');
    return send(reply, 'REG_INTERNAL', `internal error; the registry log has the details under request id ${req.id}`);
  });
  app.setNotFoundHandler((req, reply) => send(reply, 'REG_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
}
