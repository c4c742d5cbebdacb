import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/index.ts';
import { problemsOf } from './config-fixtures.ts';

/** A batch partner whose template lines are `template` (indented under template:). */
const withTemplate = (template: string) => `partners:
  - id: 1
    name: globex
    delivery: batch
    segmentMap: { 1001: g1 }
    batch:
      sftp: { host: 127.0.0.1, user: u, password: { env: P }, hostKeySha256: "SHA256:489ZXyGoi2SQDD5/xiu/9dbO7OxZpwUBcEgwWPTsiFE" }
      remoteDir: /in
      template:
${template
  .trim()
  .split('\n')
  .map((l) => `        ${l}`)
  .join('\n')}
`;
const env = { P: 'secret' };
const problems = (template: string) => problemsOf(withTemplate(template), { env }).map((p) => ({ at: `${p.line}:${p.field}`, message: p.message }));

describe('batch template shapes', () => {
  it('accepts each meaningful shape', () => {
    for (const template of [
      'fields: [partner_user_id, segments, expires_at, request_id, partner_id]',
      'fields: [cookie_id]',
      'groupBy: segment\nfields: [segment, partner_user_id, expires_at, partner_id]',
      'groupBy: segment\nfields: [cookie_id, segment]',
    ]) {
      expect(() => parseConfig(withTemplate(template), { file: '/tmp/c/courier.yaml', env }), template).not.toThrow();
    }
  });

  it('rejects "segment" in a cookie row and a cookie row without an id, at the field', () => {
    // Problems come sorted by line and column: the list itself before its items.
    expect(problems('fields: [segment, segments]')).toEqual([
      { at: '10:partners[0].batch.template.fields', message: expect.stringContaining('needs cookie_id or partner_user_id') },
      { at: '10:partners[0].batch.template.fields[0]', message: expect.stringContaining('"segment" is a column of groupBy: segment rows') },
    ]);
  });

  it('rejects "segments" and "request_id" in a segment row, and a segment row without its code or with two member ids', () => {
    expect(problems('groupBy: segment\nfields: [segments, request_id, cookie_id, partner_user_id]')).toEqual([
      { at: '11:partners[0].batch.template.fields', message: expect.stringContaining('needs "segment"') },
      { at: '11:partners[0].batch.template.fields', message: expect.stringContaining('exactly one of partner_user_id or cookie_id') },
      { at: '11:partners[0].batch.template.fields[0]', message: expect.stringContaining('use "segment"') },
      { at: '11:partners[0].batch.template.fields[1]', message: expect.stringContaining('"request_id" belongs to one cookie') },
    ]);
    expect(problems('groupBy: segment\nfields: [segment]').map((p) => p.message)).toEqual([expect.stringContaining('exactly one of partner_user_id or cookie_id')]);
  });

  it('rejects an extra field literal that would split rows, and a hidden file name', () => {
    expect(
      problems('fields: [cookie_id]\ndelimiter: ","\nsegmentDelimiter: ";"\nextraFields:\n  src: { value: "a,b" }\nfileNamePattern: _x_${DATE}.csv.gz'),
    ).toEqual([
      { at: '14:partners[0].batch.template.extraFields.src.value', message: expect.stringContaining('contains the delimiter or a line break') },
      { at: '15:partners[0].batch.template.fileNamePattern', message: expect.stringContaining('hidden from dataset readers') },
    ]);
  });

  it('reports only the type problem when groupBy itself is wrong', () => {
    expect(problems('groupBy: cookies\nfields: [segment]').map((p) => p.at)).toEqual(['10:partners[0].batch.template.groupBy']);
  });
});
