// Field paths as data engineers read them: partners[1].streaming.headers["X-Api-Key"].

/** A path inside the config, as zod and the YAML document address it. */
export type FieldPath = readonly PropertyKey[];

/** Formats a path like `partners[1].streaming.rateLimitPerSecond`; empty string for the root. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}
