import { describe, expect, it } from 'vitest';
import { batchFormatterDatasets, batchFormatterParams, batchFileName, periodDays, periodOf, templateProblems, batchTemplateSchema } from '../../../jobs/batch-formatter/index.ts';

// Built around a valid template, since parsing an invalid one throws.
const template = (t: object) => ({ ...batchTemplateSchema.parse({ fields: ['cookie_id'] }), ...t }) as ReturnType<typeof batchTemplateSchema.parse>;
const parse = (partner: object, period = '2026-11-23') => () => batchFormatterParams.parse({ partner: { id: 42, name: 'globex-dmp', ...partner }, period });

describe('batch formatter parameters', () => {
  it('fills the config defaults', () => {
    const p = parse({ template: { fields: ['partner_user_id', 'segments'] } })();
    expect(p.partner).toEqual({
      id: 42,
      name: 'globex-dmp',
      schedule: 'daily',
      template: {
        groupBy: 'cookie',
        fields: ['partner_user_id', 'segments'],
        delimiter: '\t',
        segmentDelimiter: ',',
        header: [],
        extraFields: {},
        compression: 'gzip',
        fileNamePattern: '${PARTNER_NAME}_${DATE}.tsv.gz',
      },
    });
    expect(batchFileName(p)).toBe('globex-dmp_2026-11-23.tsv.gz');
  });

  it('names every problem with its field path', () => {
    expect(parse({ template: { fields: ['segments'], header: ['${ROW}', 'a\nb'], fileNamePattern: '${ROWS}.gz', extraFields: { x: { value: 'a\tb' } } } }, '2026-11')).toThrow(
      [
        'partner.template.header[0]: header line: unknown macro ${ROW}; known: ${DATE} ${PARTNER_NAME} ${PARTNER_ID} ${ROWS}',
        'partner.template.header[1]: header line: contains a line break; write one list item per line',
        'partner.template.fileNamePattern: fileNamePattern: unknown macro ${ROWS}; known: ${DATE} ${PARTNER_NAME} ${PARTNER_ID}',
        'partner.template.fields: a row per cookie needs cookie_id or partner_user_id to say whose segments they are',
        'partner.template.extraFields.x.value: the literal "a\\tb" contains the delimiter or a line break, which would split every row',
        'period: a daily partner\'s period is a calendar day YYYY-MM-DD, got "2026-11"',
      ].join('\n'),
    );
  });

  it('checks each shape as the config does', () => {
    expect(templateProblems(template({ groupBy: 'segment', fields: ['segment', 'partner_user_id', 'cookie_id', 'request_id'] })).map((p) => p.path.join('.'))).toEqual([
      'fields.3',
      'fields',
    ]);
    expect(templateProblems(template({ groupBy: 'segment', fields: ['partner_id', 'cookie_id', 'segment', 'expires_at'] }))).toEqual([]);
    expect(templateProblems(template({ compression: 'none' })).map((p) => p.message)).toEqual(['compression is "none" but the file name ends in .gz']);
    expect(templateProblems(template({ fileNamePattern: '.${DATE}' })).map((p) => p.message)).toEqual([
      'a file name starting with "_" or "." is hidden from dataset readers',
    ]);
  });
});

describe('batch periods', () => {
  it('lists the days of a period and the datasets of a run', () => {
    expect(periodDays('2026-11-23')).toEqual(['2026-11-23']);
    expect(periodDays('2028-02')).toHaveLength(29);
    expect(periodDays('2026-12').at(-1)).toBe('2026-12-31');
    expect(periodOf('monthly', '2026-11-23')).toBe('2026-11');
    expect(periodOf('daily', '2026-11-23')).toBe('2026-11-23');
    expect(batchFormatterDatasets({ name: 'globex-dmp', schedule: 'daily' }, '2026-11-23')).toEqual({
      inputs: ['requests/dt=2026-11-23'],
      output: 'batch/globex-dmp/dt=2026-11-23',
      rows: '_work/batch-formatter-rows/globex-dmp/dt=2026-11-23',
    });
    expect(() => batchFormatterDatasets({ name: 'u', schedule: 'monthly' }, '2026-13')).toThrow(/partner u: a monthly partner's period is a month YYYY-MM, got "2026-13"/);
    expect(() => batchFormatterDatasets({ name: 'u', schedule: 'daily' }, '2026-02-30')).toThrow(/calendar day/);
  });
});
