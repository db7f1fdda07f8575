import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOpenApi } from '../../src/core/docs.js';
import { startTestService, TEST_KEY, type TestService } from '../helpers/service.js';
import { attack, dollarKeys, listen } from './attack.js';

/** CI runs a bounded attack; `npm run fuzz -- --requests N` sets FUZZ_REQUESTS for a long one (FUZZ_SEED replays one). */
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 3000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

describe('attack suite: property-based requests over every action', () => {
  let t: TestService;
  let server: Awaited<ReturnType<typeof listen>>;

  beforeAll(async () => {
    t = await startTestService();
    server = await listen(t.app);
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it(
    `answers ${REQUESTS} generated requests with no 5xx, no hang, house-shaped errors, schema-valid results`,
    async () => {
      const figures = await attack({
        port: server.port,
        secret: TEST_KEY.secret,
        openapi: renderOpenApi(t.service.actions) as Record<string, unknown>,
        requests: REQUESTS,
        ...(SEED === undefined ? {} : { seed: SEED }),
      });
      process.stderr.write(
        `[fuzz] ${figures.requests} requests over ${figures.operations} operations (${figures.keyed} with an Idempotency-Key, ${figures.replayed} answers replayed); by status ${JSON.stringify(figures.byStatus)}\n`,
      );
      expect(figures.requests).toBeGreaterThanOrEqual(REQUESTS);
      expect(Object.keys(figures.byStatus)).toContain('200');
    },
    Math.max(120_000, REQUESTS * 100),
  );

  it('leaves no stored document with a key that starts with $', async () => {
    expect(await dollarKeys(t.db)).toEqual([]);
  });
});
