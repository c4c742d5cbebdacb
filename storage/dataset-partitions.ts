/**
 * Hive-style partition paths (`partner=17/priority=high`): the partition values live in directory names,
 * so a reader picks partitions by listing, and Spark, Hive and DuckDB read the same layout.
 */
import type { FieldType } from './record-schema.ts';

/** A partition column and the directory key it is written under (`partner_id` as `partner`). */
export interface PartitionKey {
  column: string;
  key: string;
}

/** Partition keys as written in options: a column name, or `{column, as}` to name its directory key. */
export type PartitionSpec = string | { column: string; as: string };

const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Normalises partition specs; a spec without a usable column or directory key is an error, not `undefined=17/`. */
export function partitionKeys(specs: readonly PartitionSpec[] = []): PartitionKey[] {
  return specs.map((s, i) => {
    const key = typeof s === 'string' ? { column: s, key: s } : { column: (s as { column?: unknown }).column, key: (s as { as?: unknown }).as };
    if (typeof key.column !== 'string' || typeof key.key !== 'string' || !KEY_NAME.test(key.column) || !KEY_NAME.test(key.key)) {
      throw new Error(
        `partitionBy[${i}] is ${JSON.stringify(s)}: expected a column name, or { column, as } naming the column and its directory key (letters, digits, _)`,
      );
    }
    return key as PartitionKey;
  });
}

/** A partition value as it appears in a path segment (escaped so `/` and `=` cannot break the layout). */
export function encodePartitionValue(value: string | number): string {
  return encodeURIComponent(String(value));
}

/** The relative directory of one partition: `partner=17/priority=high`. */
export function partitionDir(keys: readonly PartitionKey[], values: readonly (string | number)[]): string {
  return keys.map((k, i) => `${k.key}=${encodePartitionValue(values[i]!)}`).join('/');
}

/** Parses `a=1/b=x/part-0.parquet` into `{a: '1', b: 'x'}`; segments without `=` are ignored. */
export function parsePartitionPath(relative: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const seg of relative.split('/')) {
    const eq = seg.indexOf('=');
    if (eq > 0) out[seg.slice(0, eq)] = decodeURIComponent(seg.slice(eq + 1));
  }
  return out;
}

/** Converts a partition value from its path text back to the column's type. */
export function partitionValueOf(type: FieldType, text: string, where: string): string | number {
  if (type === 'string') return text;
  if (type === 'int32' || type === 'int64' || type === 'timestamp_ms') {
    const n = Number(text);
    if (!Number.isInteger(n)) throw new Error(`${where}: partition value "${text}" is not an integer`);
    return n;
  }
  throw new Error(`${where}: ${type} columns cannot be partition keys; use string or integer columns`);
}

/** The common Courier layout of a dated dataset: `<root>/<name>/dt=YYYY-MM-DD`. */
export function datedDatasetPath(name: string, date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`dataset ${name}: date "${date}" is not YYYY-MM-DD`);
  return `${name}/dt=${date}`;
}
