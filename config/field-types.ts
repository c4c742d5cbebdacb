// Reusable field schemas. Each carries the message a data engineer sees, phrased as "expected ...": the loader adds
// ", got <value>" and the location.
import { z } from 'zod';
import { closestMatch } from './did-you-mean.ts';
import { macroProblems } from './template-macros.ts';

/** A whole number >= min (and <= max when given). */
export function wholeNumber(min: number, max?: number) {
  const expected = max === undefined ? `expected a whole number >= ${min}` : `expected a whole number from ${min} to ${max}`;
  const base = z.int({ error: expected }).min(min, { error: expected });
  return max === undefined ? base : base.max(max, { error: expected });
}

/** A number > 0, fractions allowed. */
export function positiveNumber() {
  const expected = 'expected a number > 0';
  return z.number({ error: expected }).positive({ error: expected });
}

/** A number from 0 to 1, e.g. a tolerated rate. */
export function fraction() {
  const expected = 'expected a number from 0 to 1 (0.001 means one in a thousand)';
  return z.number({ error: expected }).min(0, { error: expected }).max(1, { error: expected });
}

/** A non-empty string. */
export function text(what = 'a non-empty string') {
  const expected = `expected ${what}`;
  return z.string({ error: expected }).min(1, { error: expected });
}

/** One of `values`, with a did-you-mean for near misses. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) => {
      const guess = typeof issue.input === 'string' ? closestMatch(issue.input, values) : undefined;
      return `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}${guess ? ` (did you mean "${guess}"?)` : ''}`;
    },
  });
}

/** A lower-case name made of a-z, 0-9 and dashes, usable in file names and metrics. */
export function slug() {
  const expected = 'expected a name of lower-case letters, digits and dashes, like "acme-dsp"';
  return z.string({ error: expected }).regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, { error: expected });
}

/** A string whose ${MACRO}s must be among `allowed`. */
export function templateString(allowed: readonly string[], what = 'a template string') {
  return z.string({ error: `expected ${what}` }).superRefine((value, ctx) => {
    for (const message of macroProblems(value, allowed)) ctx.addIssue({ code: 'custom', message });
  });
}

/** An http(s) URL template whose macros must be among `allowed`. */
export function urlTemplate(allowed: readonly string[]) {
  return templateString(allowed, 'an http:// or https:// URL').superRefine((value, ctx) => {
    // Macros stand in for values filled per request; swap them for a token so the rest can be parsed as a URL.
    const probe = value.replace(/\$\{[^}]*\}/g, 'x');
    let protocol = '';
    try {
      protocol = new URL(probe).protocol;
    } catch {
      protocol = '';
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      ctx.addIssue({
        code: 'custom',
        message: `expected an http:// or https:// URL (macros like \${PARTNER_USER_ID} allowed), got ${JSON.stringify(value)}`,
      });
    }
  });
}

/** A secret reference: the name of an environment variable or the path of a file holding the value. */
export function secretRef() {
  const envName = z
    .string({ error: 'expected an environment variable name' })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name like ACME_TOKEN' });
  return z.union(
    [
      z.strictObject({ env: envName.describe('Name of the environment variable holding the secret.') }),
      z.strictObject({ file: text('a file path').describe('Path of the file holding the secret; relative to the config file.') }),
    ],
    { error: 'expected a secret reference: { env: VAR_NAME } or { file: path/to/file }' },
  );
}

/** A URI whose scheme is one of `schemes`, with a host (`file:///abs/path` has none, and needs none). */
export function uri(schemes: readonly string[], example: string) {
  const expected = `expected a ${schemes.map((s) => `${s}://`).join(' or ')} URI like ${example}`;
  return z.string({ error: expected }).refine(
    (value) => {
      try {
        const url = new URL(value);
        return schemes.includes(url.protocol.slice(0, -1)) && (url.hostname !== '' || (url.protocol === 'file:' && value.startsWith('file:///')));
      } catch {
        return false;
      }
    },
    { error: expected },
  );
}
