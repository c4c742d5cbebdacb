/**
 * The batch formatter's parameters: which partner, which period, and the partner's file template. Plain data
 * mirroring the config's `partners[].batch` (the CLI maps the config onto it), validated here because jobs do
 * not import the config room, and re-checked so a template that would write a broken file never runs.
 */
import { z } from 'zod';
import type { ParamsSchema } from '../../engine/index.ts';
import { EXPIRY_FORMATS } from '../../udfs/index.ts';
import { periodProblem } from './batch-period.ts';

/** Columns a template may list in `fields`. */
export const BATCH_FIELDS = ['cookie_id', 'partner_user_id', 'segments', 'segment', 'expires_at', 'request_id', 'partner_id'] as const;
export type BatchField = (typeof BATCH_FIELDS)[number];

/** Macros of header lines and of the file name (the latter without ROWS). */
export const HEADER_MACROS = ['DATE', 'PARTNER_NAME', 'PARTNER_ID', 'ROWS'] as const;
export const FILE_NAME_MACROS = ['DATE', 'PARTNER_NAME', 'PARTNER_ID'] as const;
export const DEFAULT_FILE_NAME_PATTERN = '${PARTNER_NAME}_${DATE}.tsv.gz';

/** The member identifiers a `groupBy: segment` row lists. */
export const MEMBER_FIELDS = ['partner_user_id', 'cookie_id'] as const;
export type MemberField = (typeof MEMBER_FIELDS)[number];

const separator = (what: string) =>
  z
    .string()
    .min(1, { error: `${what}: expected 1 to 4 characters` })
    .max(4, { error: `${what}: expected 1 to 4 characters` })
    .regex(/^[^\r\n]*$/, { error: `${what}: expected no line breaks` });

const macroText = (allowed: readonly string[], what: string) =>
  z.string().superRefine((value, ctx) => {
    for (const m of value.matchAll(/\$\{([^}]*)\}/g)) {
      if (!allowed.includes(m[1]!)) {
        ctx.addIssue({ code: 'custom', message: `${what}: unknown macro \${${m[1]}}; known: ${allowed.map((a) => `\${${a}}`).join(' ')}` });
      }
    }
    if (value.replace(/\$\{[^}]*\}/g, '').includes('${')) ctx.addIssue({ code: 'custom', message: `${what}: a "\${" is not closed with "}"` });
    if (/[\r\n]/.test(value)) ctx.addIssue({ code: 'custom', message: `${what}: contains a line break; write one list item per line` });
  });

const extraField = z.union([
  z.strictObject({ value: z.union([z.string(), z.number()]).transform(String) }),
  z.strictObject({ expiresAt: z.strictObject({ format: z.enum(EXPIRY_FORMATS) }) }),
]);

/** A partner's batch file template (config `partners[].batch.template`, same keys and defaults). */
export const batchTemplateSchema = z
  .strictObject({
    groupBy: z.enum(['cookie', 'segment']).default('cookie'),
    fields: z.array(z.enum(BATCH_FIELDS)).min(1),
    delimiter: separator('delimiter').default('\t'),
    segmentDelimiter: separator('segmentDelimiter').default(','),
    header: z.array(macroText(HEADER_MACROS, 'header line')).default([]),
    extraFields: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), extraField).default({}),
    compression: z.enum(['gzip', 'none']).default('gzip'),
    fileNamePattern: macroText(FILE_NAME_MACROS, 'fileNamePattern').default(DEFAULT_FILE_NAME_PATTERN),
  })
  .superRefine((t, ctx) => {
    for (const problem of templateProblems(t)) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

/** A batch partner as the formatter needs it (config `partners[]` id and name, plus its `batch` template and schedule). */
export const batchPartnerSchema = z.strictObject({
  id: z.int().min(1).max(2147483647),
  name: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, { error: 'expected a name of lower-case letters, digits and dashes' }),
  schedule: z.enum(['daily', 'monthly']).default('daily'),
  template: batchTemplateSchema,
});

/** The batch formatter job's parameters: the partner and the period (`YYYY-MM-DD` daily, `YYYY-MM` monthly). */
export const batchFormatterParamsSchema = z
  .strictObject({ partner: batchPartnerSchema, period: z.string() })
  .superRefine((p, ctx) => {
    const problem = periodProblem(p.partner.schedule, p.period);
    if (problem) ctx.addIssue({ code: 'custom', path: ['period'], message: problem });
  });

export type BatchTemplate = z.output<typeof batchTemplateSchema>;
export type BatchTemplateInput = z.input<typeof batchTemplateSchema>;
export type BatchPartner = z.output<typeof batchPartnerSchema>;
export type BatchPartnerInput = z.input<typeof batchPartnerSchema>;
export type BatchFormatterParams = z.output<typeof batchFormatterParamsSchema>;

/** The job's params schema: the zod schema, its issues printed one per line as `field.path: message`. */
export const batchFormatterParams: ParamsSchema<BatchFormatterParams> = {
  parse(input: unknown): BatchFormatterParams {
    const result = batchFormatterParamsSchema.safeParse(input);
    if (result.success) return result.data;
    throw new TypeError(result.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`).join('\n'));
  },
};

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('') || '(parameters)';
}

/** The member field of a `groupBy: segment` template. */
export function memberFieldOf(template: Pick<BatchTemplate, 'fields'>): MemberField {
  const member = template.fields.find((f): f is MemberField => (MEMBER_FIELDS as readonly string[]).includes(f));
  if (!member) throw new Error('template: groupBy segment needs partner_user_id or cookie_id in fields');
  return member;
}

/**
 * What makes a template meaningless or its files unreadable: fields that belong to the other shape, a shape
 * without the identifiers it needs, literals that would split a row, names dataset readers hide. The config
 * room runs the same rules at `courier config check`, with file locations.
 */
export function templateProblems(t: BatchTemplate): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });
  t.fields.forEach((f, i) => {
    if (t.fields.indexOf(f) !== i) add(['fields', i], `field "${f}" is listed twice`);
  });
  if (t.groupBy === 'cookie') {
    const i = t.fields.indexOf('segment');
    if (i >= 0) add(['fields', i], '"segment" is a column of groupBy: segment rows; a cookie row lists its codes in "segments"');
    if (!t.fields.includes('cookie_id') && !t.fields.includes('partner_user_id')) {
      add(['fields'], 'a row per cookie needs cookie_id or partner_user_id to say whose segments they are');
    }
  } else {
    for (const f of ['segments', 'request_id'] as const) {
      const i = t.fields.indexOf(f);
      if (i >= 0) add(['fields', i], `"${f}" belongs to one cookie, but a groupBy: segment row holds many cookies; remove it`);
    }
    if (!t.fields.includes('segment')) add(['fields'], 'a row per segment needs "segment" (the segment code)');
    const members = t.fields.filter((f) => (MEMBER_FIELDS as readonly string[]).includes(f));
    if (members.length !== 1) add(['fields'], 'a row per segment lists its users by exactly one of partner_user_id or cookie_id');
  }
  if (t.delimiter === t.segmentDelimiter) add(['segmentDelimiter'], 'segmentDelimiter equals delimiter, so rows could not be split back');
  for (const [name, spec] of Object.entries(t.extraFields)) {
    if (t.fields.includes(name as BatchField)) add(['extraFields', name], `extra field "${name}" clashes with a field of the same name`);
    if ('value' in spec && (spec.value.includes(t.delimiter) || /[\r\n]/.test(spec.value))) {
      add(['extraFields', name, 'value'], `the literal ${JSON.stringify(spec.value)} contains the delimiter or a line break, which would split every row`);
    }
  }
  const name = t.fileNamePattern;
  if (name.includes('/')) add(['fileNamePattern'], 'a file name cannot contain "/"');
  if (name.startsWith('_') || name.startsWith('.')) add(['fileNamePattern'], 'a file name starting with "_" or "." is hidden from dataset readers');
  if (t.compression === 'none' && name.endsWith('.gz')) add(['fileNamePattern'], 'compression is "none" but the file name ends in .gz');
  if (name.endsWith(MANIFEST_SUFFIX)) add(['fileNamePattern'], `names ending in ${MANIFEST_SUFFIX} are the manifests'`);
  return problems;
}

/** The manifest of data file `x` is `x.manifest.json`, beside it. */
export const MANIFEST_SUFFIX = '.manifest.json';
