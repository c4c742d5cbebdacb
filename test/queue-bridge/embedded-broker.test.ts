import { describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../queue-bridge/index.ts';
import { brokerContract, fill } from './broker-contract.ts';

brokerContract('embedded', async (options) => new EmbeddedBroker(options));

describe('embedded broker', () => {
  it('frees acknowledged batches and keeps counting sequence numbers', async () => {
    const broker = new EmbeddedBroker();
    for (let b = 0; b < 5; b++) await fill(broker, 1, 'normal', b * 100, 100);
    for (;;) {
      const got = await broker.receive(1, { max: 130 });
      if (got.length === 0) break;
      await broker.ack(got.map((g) => g.tag));
    }
    await fill(broker, 1, 'normal', 500, 10);
    const got = await broker.receive(1, { max: 20 });
    expect(got.map((g) => g.request.requestId)).toEqual(Array.from({ length: 10 }, (_, i) => `1-normal-${500 + i}`));
    expect((await broker.stats())[0]).toMatchObject({ depth: 10, ackFloor: 501, nextSeq: 511 });
  });

  it('rejects tags it did not issue', async () => {
    const broker = new EmbeddedBroker();
    await expect(broker.ack(['requests.1.high|1|1' as never])).rejects.toThrow(/not issued by the embedded broker/);
  });
});
