/**
 * The CLI's logs: JSON lines (with the run id, stage and partner fields) when stderr is not a terminal, short
 * `time LEVEL message key=value` lines on a terminal, where context fields the message already names are left out.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../cli/logger.ts';

function capture(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; lines: string[] } {
  const lines: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, lines };
}

describe('cli logger', () => {
  it('writes JSON lines with every field when stderr is not a terminal', async () => {
    const { stream, lines } = capture(false);
    createLogger('info', stream).info({ workflow: 'daily-refresh', runId: 'R1', stage: 'refresher', partner: 'acme-dsp' }, 'daily-refresh: refresher started');
    await new Promise((r) => setImmediate(r));
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: 'daily-refresh: refresher started', workflow: 'daily-refresh', runId: 'R1', stage: 'refresher', partner: 'acme-dsp' });
  });

  it('on a terminal leaves out context fields the message names and keeps the others', async () => {
    const { stream, lines } = capture(true);
    createLogger('info', stream).info({ workflow: 'daily-refresh', runId: 'R1', stage: 'refresher', partner: 'acme-dsp', rows: 5 }, 'daily-refresh: refresher started');
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  daily-refresh: refresher started runId=R1 partner=acme-dsp rows=5$/);
  });
});
