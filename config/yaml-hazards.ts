// YAML that parses yet cannot be a config: alias bombs and unresolved aliases (which the yaml library reports
// without a position), keys that differ in YAML but not once read (1001 and "1001"), and nesting so deep that
// the parser runs out of stack. Each becomes a located problem that says what to do.
import { type Document, isPair, isScalar, type LineCounter, type Node, visit } from 'yaml';
import type { ConfigProblem } from './config-error.ts';

function positionOf(lineCounter: LineCounter, node: unknown): { line: number; column: number } {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  const { line, col } = lineCounter.linePos(range?.[0] ?? 0);
  return { line, column: col };
}

/** The problem for an error the yaml library threw while resolving aliases, at the alias it concerns. */
export function aliasProblem(doc: Document, lineCounter: LineCounter, file: string, error: Error): ConfigProblem {
  const unresolved = /Unresolved alias[^:]*: (.+)$/.exec(error.message)?.[1];
  let first: Node | undefined;
  let named: Node | undefined;
  visit(doc, {
    Alias(_, node) {
      first ??= node;
      if (unresolved !== undefined && node.source === unresolved) {
        named = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (unresolved !== undefined) {
    return {
      file,
      ...positionOf(lineCounter, named ?? first),
      field: '',
      message: `alias *${unresolved} refers to no anchor defined before it; define &${unresolved} above it, or write the value out`,
    };
  }
  if (/alias count|resource exhaustion/i.test(error.message)) {
    return {
      file,
      ...positionOf(lineCounter, first),
      field: '',
      message:
        'the aliases (*name) here and below expand to more than 1000 copies, as an "alias bomb" does; ' +
        'refer to each anchor fewer times, or write the values out',
    };
  }
  return { file, ...positionOf(lineCounter, first), field: '', message: `cannot read the YAML: ${error.message}` };
}

/**
 * Keys of one mapping that YAML holds distinct but that read as the same config key (`1001:` and `"1001":`,
 * `true:` and `"true":`): the later one would silently replace the earlier.
 */
export function sameKeyProblems(doc: Document, lineCounter: LineCounter, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, unknown>();
      for (const pair of map.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (key === '<<') continue;
        const earlier = seen.get(key);
        if (earlier === undefined) {
          seen.set(key, pair.key);
          continue;
        }
        const { line } = positionOf(lineCounter, earlier);
        problems.push({ file, ...positionOf(lineCounter, pair.key), field: '', message: `key ${key} is given twice in this mapping (also on line ${line}); keep one` });
      }
    },
  });
  return problems;
}

/** True for a parser error that is really a stack overflow of deep nesting. */
export function isStackOverflow(message: string): boolean {
  return /Maximum call stack size exceeded/.test(message);
}

/** The one problem reported for nesting too deep to parse (the parser reports it once per level). */
export function deepNestingProblem(file: string, line: number, column: number): ConfigProblem {
  return {
    file,
    line,
    column,
    field: '',
    message: 'the YAML nests too deeply to read (the parser ran out of stack near here); a config nests a few levels: look for runaway brackets or indentation',
  };
}
