import { describe, expect, it } from 'vitest';
import { readAhead } from '../../engine/read-ahead.ts';

/** A source that records how far it has been pulled. */
function counting(n: number, failAt?: number): { source: AsyncGenerator<number>; pulled: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  async function* gen(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error(`source failed at ${i}`);
        pulled++;
        yield i;
      }
    } finally {
      closed = true;
    }
  }
  return { source: gen(), pulled: () => pulled, closed: () => closed };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 5));

describe('readAhead', () => {
  it('yields every item in order', async () => {
    const { source } = counting(100);
    const out: number[] = [];
    for await (const x of readAhead(source, 3)) out.push(x);
    expect(out).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('pulls ahead while the consumer waits, but no further than the limit', async () => {
    const { source, pulled } = counting(100);
    const it = readAhead(source, 4)[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    await tick();
    // One item handed over, four queued behind it.
    expect(pulled()).toBe(5);
    await it.return(undefined);
  });

  it('delivers the items before a failure, then the error', async () => {
    const { source } = counting(10, 6);
    const out: number[] = [];
    await expect(async () => {
      for await (const x of readAhead(source, 2)) out.push(x);
    }).rejects.toThrow('source failed at 6');
    expect(out).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('stops the source when the consumer stops early', async () => {
    const { source, closed, pulled } = counting(1000);
    for await (const x of readAhead(source, 5)) if (x === 2) break;
    expect(closed()).toBe(true);
    expect(pulled()).toBeLessThan(10);
  });
});
