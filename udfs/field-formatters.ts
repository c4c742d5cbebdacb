/**
 * Formatters for the fields of partner templates (batch files, HTTP bodies): how an expiry time is written and
 * how a list becomes one field. They refuse what would corrupt a row rather than write it.
 */

/** How an expiry time is written: whole seconds or milliseconds since the Unix epoch, or ISO 8601 UTC. */
export const EXPIRY_FORMATS = ['epoch-seconds', 'epoch-millis', 'iso8601'] as const;
export type ExpiryFormat = (typeof EXPIRY_FORMATS)[number];

/** Latest instant `Date` can represent (±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

/**
 * Writes an instant (epoch milliseconds) in a template's expiry format: `epoch-seconds` `1798070400`
 * (floored), `epoch-millis` `1798070400000`, `iso8601` `2026-12-23T00:00:00Z` (whole seconds, floored).
 */
export function formatExpiry(ms: number, format: ExpiryFormat): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_DATE_MS) {
    throw new RangeError(`expiry: expected epoch milliseconds (a whole number from 0), got ${String(ms)}`);
  }
  switch (format) {
    case 'epoch-seconds':
      return String(Math.floor(ms / 1000));
    case 'epoch-millis':
      return String(ms);
    case 'iso8601':
      return `${new Date(ms).toISOString().slice(0, 19)}Z`;
    default:
      throw new RangeError(`expiry: unknown format ${JSON.stringify(format)}; expected one of ${EXPIRY_FORMATS.join(', ')}`);
  }
}

/** A value cannot be written into a templated field without breaking the row. */
export class FieldFormatError extends Error {
  override readonly name = 'FieldFormatError';
}

/**
 * Joins a list into one field with `delimiter`. Refuses (FieldFormatError naming `where` and the value) a value
 * that contains the delimiter, a newline or a carriage return, since the row could not be split back.
 * `where` says where the list comes from, e.g. `partner 17 segments of cookie rzhqEqt2G_Luy5kC9riKeg`.
 */
export function joinList(values: readonly string[], delimiter: string, where: string): string {
  if (delimiter.length === 0) throw new FieldFormatError(`${where}: the list delimiter is empty; configure a separator such as ","`);
  if (/[\r\n]/.test(delimiter)) throw new FieldFormatError(`${where}: the list delimiter ${JSON.stringify(delimiter)} holds a newline; choose another`);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v.includes(delimiter)) {
      throw new FieldFormatError(
        `${where}: value ${i} ${JSON.stringify(v)} contains the list delimiter ${JSON.stringify(delimiter)}; choose another delimiter or change the value`,
      );
    }
    if (v.includes('\n') || v.includes('\r')) {
      throw new FieldFormatError(`${where}: value ${i} ${JSON.stringify(v)} contains a newline, which would split the row; change the value`);
    }
  }
  return values.join(delimiter);
}
