// Maps a field path back to the line and column of the YAML text it came from, so every problem points at a place
// in the file. Paths that do not exist (a missing key) point at the closest enclosing key that does.
import { type Document, type LineCounter, isMap, isPair, isScalar, isSeq, type Node } from 'yaml';
import type { FieldPath } from './field-path.ts';

/** A 1-based position in the file. */
export interface Position {
  line: number;
  column: number;
}

/** Where a field path points: the key of the field when `onKey`, else its value; nearest existing ancestor if missing. */
export function locate(doc: Document, lineCounter: LineCounter, path: FieldPath, onKey = false): Position {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let offset = rangeStart(node) ?? 0;
  for (const segment of path) {
    const step = child(node, segment);
    if (step === undefined) {
      // Missing field: point at the key that owns the enclosing mapping, which is where it must be added.
      offset = rangeStart(keyNode) ?? rangeStart(node) ?? offset;
      return position(lineCounter, offset);
    }
    node = step.value;
    keyNode = step.key;
    offset = rangeStart(onKey && segment === path[path.length - 1] ? step.key : step.value) ?? rangeStart(step.key) ?? offset;
  }
  return position(lineCounter, offset);
}

function child(node: unknown, segment: PropertyKey): { key: Node | undefined; value: unknown } | undefined {
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { key: undefined, value: item };
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      // Keys such as segment ids are numbers in YAML but strings in the parsed config: compare as text.
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (String(key) === String(segment)) return { key: pair.key as Node, value: pair.value };
    }
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

function position(lineCounter: LineCounter, offset: number): Position {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
