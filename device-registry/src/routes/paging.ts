import { invalid } from '../errors.js';

/** The `next` field of a page answer: the cursor of its last item when the page is full, else null. */
export const NEXT_SCHEMA = { type: ['string', 'null'], description: 'Cursor of the next page (pass it as before=), null at the end' } as const;

export function nextCursor<T>(items: readonly T[], limit: number, cursorOf: (last: T) => string): string | null {
  const last = items.at(-1);
  return items.length === limit && last !== undefined ? cursorOf(last) : null;
}

/** The parts of a `before` cursor (`querystring.before`), or undefined when none was given; 400 when malformed. */
export function parseCursor(value: string | undefined, form: RegExp): RegExpExecArray | undefined {
  if (value === undefined) return undefined;
  const m = form.exec(value);
  if (!m) throw invalid('querystring.before', 'expected the next cursor of a previous page');
  return m;
}
