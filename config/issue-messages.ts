// Turns zod issues into problems a data engineer can act on: "expected X, got Y", unknown keys with the allowed ones
// and a did-you-mean, union failures narrowed to the branch that was meant.
import type { z } from 'zod';
import { closestMatch } from './did-you-mean.ts';
import type { FieldPath } from './field-path.ts';

/** One problem found by schema validation, before it is given a line and column. */
export interface IssueProblem {
  path: PropertyKey[];
  message: string;
  /** Point at the key itself (an unknown or invalid key) rather than its value. */
  onKey: boolean;
}

type Issue = z.core.$ZodIssue;

/** The messages for issues whose schema gave none of its own; passed to safeParse as `error`. */
export const defaultIssueMessage: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`
        : issue.origin === 'string'
          ? `expected at least ${issue.minimum} character${issue.minimum === 1 ? '' : 's'}`
          : `expected a number ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `expected at most ${issue.maximum} items`
        : issue.origin === 'string'
          ? `expected at most ${issue.maximum} characters`
          : `expected a number ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.pattern ? `expected text matching ${issue.pattern}` : `expected a valid ${issue.format}`;
    default:
      return undefined;
  }
};

const EXPECTED: Record<string, string> = {
  object: 'a mapping (indented key: value lines)',
  record: 'a mapping (indented key: value lines)',
  array: 'a list (lines starting with "- ")',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** Problems for the issues of one parse; `root` is the schema parsed, used to list allowed keys. */
export function problemsFromIssues(issues: readonly Issue[], root: z.ZodType, prefix: PropertyKey[] = []): IssueProblem[] {
  const problems: IssueProblem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    switch (issue.code) {
      case 'invalid_union': {
        const meant = meantBranch(issue.errors);
        if (meant) problems.push(...problemsFromIssues(meant, root, path));
        else problems.push({ path, message: withInput(issue.message, issue.input), onKey: false });
        break;
      }
      case 'unrecognized_keys': {
        const allowed = allowedKeysAt(root, path) ?? [];
        for (const key of issue.keys) {
          const guess = closestMatch(key, allowed);
          problems.push({
            path: [...path, key],
            message: `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}${allowed.length ? `; allowed keys here: ${allowed.join(', ')}` : ''}`,
            onKey: true,
          });
        }
        break;
      }
      case 'invalid_key': {
        const reason = issue.issues[0]?.message ?? 'invalid key';
        problems.push({ path, message: `invalid key ${JSON.stringify(path[path.length - 1])}: ${reason}`, onKey: true });
        break;
      }
      case 'custom':
        problems.push({ path, message: issue.message, onKey: false });
        break;
      case 'invalid_type':
        if (issue.input === undefined) {
          problems.push({ path, message: `required but missing; ${issue.message}`, onKey: false });
          break;
        }
        problems.push({ path, message: withInput(issue.message, issue.input), onKey: false });
        break;
      default:
        problems.push({ path, message: withInput(issue.message, issue.input), onKey: false });
    }
  }
  return problems;
}

/**
 * The union branch the writer evidently meant: the only one whose failures are not a shape mismatch at its root
 * (wrong type, or keys belonging to another branch). A branch that is itself a union is judged by its own meant
 * branch. Undefined when none or several qualify.
 */
function meantBranch(branches: readonly Issue[][]): Issue[] | undefined {
  const plausible: Issue[][] = [];
  for (const branch of branches) {
    const [only] = branch;
    if (branch.length === 1 && only?.code === 'invalid_union' && only.path.length === 0) {
      const inner = meantBranch(only.errors);
      if (inner) plausible.push(inner);
      continue;
    }
    const mismatch = branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'unrecognized_keys'));
    if (!mismatch) plausible.push(branch);
  }
  return plausible.length === 1 ? plausible[0] : undefined;
}

/** Appends what was found, unless the message already says it. */
function withInput(message: string, input: unknown): string {
  return message.includes(', got ') ? message : `${message}, got ${describeInput(input)}`;
}

/** A short rendering of a wrong value for messages. */
export function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  const text = typeof input === 'string' ? JSON.stringify(input) : String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

interface LooseDef {
  type: string;
  shape?: Record<string, unknown>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

/** The keys the object schema at `path` allows, found by walking the schema; undefined if no object is there. */
function allowedKeysAt(schema: z.ZodType, path: FieldPath): string[] | undefined {
  const def = schema._zod.def as unknown as LooseDef;
  const [head, ...rest] = path;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return def.innerType && allowedKeysAt(def.innerType, path);
    case 'pipe':
      return def.in && allowedKeysAt(def.in, path);
    case 'union':
      for (const option of def.options ?? []) {
        const keys = allowedKeysAt(option, path);
        if (keys) return keys;
      }
      return undefined;
    case 'object': {
      if (head === undefined) return Object.keys(def.shape ?? {});
      const next = def.shape?.[String(head)] as z.ZodType | undefined;
      return next && allowedKeysAt(next, rest);
    }
    case 'array':
      return head === undefined || !def.element ? undefined : allowedKeysAt(def.element, rest);
    case 'record':
      return head === undefined || !def.valueType ? undefined : allowedKeysAt(def.valueType, rest);
    default:
      return undefined;
  }
}
