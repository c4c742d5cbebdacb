// The ${MACRO} names each kind of template may use. Later rooms expand them; the config room only checks that a
// template uses known names, so a typo fails at `courier config check` rather than as a literal "${USER_ID}" on the wire.
import { closestMatch } from './did-you-mean.ts';

/** Macros of streaming request templates (url, body, header values). */
export const STREAMING_MACROS = ['REQUEST_ID', 'PARTNER_ID', 'PARTNER_USER_ID', 'SEGMENTS', 'EXPIRES_AT', 'PRIORITY'] as const;
/** Macros of batch file header lines. */
export const HEADER_LINE_MACROS = ['DATE', 'PARTNER_NAME', 'PARTNER_ID', 'ROWS'] as const;
/** Macros of batch file names. */
export const FILE_NAME_MACROS = ['DATE', 'PARTNER_NAME', 'PARTNER_ID'] as const;

const MACRO = /\$\{([^}]*)\}/g;

/** The macro names a template uses, in order of appearance. */
export function macrosIn(template: string): string[] {
  return [...template.matchAll(MACRO)].map((match) => match[1] ?? '');
}

/** What is wrong with the macros of `template`, one message per problem; empty when all are known. */
export function macroProblems(template: string, allowed: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of macrosIn(template)) {
    if (allowed.includes(name)) continue;
    const guess = closestMatch(name, allowed);
    problems.push(
      `unknown macro \${${name}}${guess ? ` (did you mean \${${guess}}?)` : ''}; known macros: ${allowed.map((m) => `\${${m}}`).join(', ')}`,
    );
  }
  // A "${" left open is almost always a missing brace, which would otherwise be sent literally.
  if (template.replace(MACRO, '').includes('${')) {
    problems.push('a "${" is not closed with "}"; write macros as ${NAME}');
  }
  return problems;
}
