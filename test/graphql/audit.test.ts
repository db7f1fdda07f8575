import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';

// graphql-http's own audit suite of the GraphQL-over-HTTP spec, against our endpoint on a real socket, with our key.
let t: TestService;
let server: Server;
let url: string;
beforeAll(async () => {
  t = await startTestService();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const withKey: typeof fetch = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('Authorization', AUTH.Authorization);
  return fetch(input, { ...init, headers });
};

const audits = serverAudits({ url: () => url, fetchFn: withKey });

describe('graphql-http server audits', () => {
  for (const audit of audits.filter((a) => a.name.startsWith('MUST'))) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      expect(result.status === 'ok' ? 'ok' : `${result.status}: ${result.reason}`).toBe('ok');
    });
  }

  it('passes every SHOULD or MAY audit too', async () => {
    const failing: string[] = [];
    for (const audit of audits.filter((a) => !a.name.startsWith('MUST'))) {
      const result = await audit.fn();
      if (result.status !== 'ok') failing.push(`${audit.id} ${audit.name}: ${result.reason}`);
    }
    expect(failing).toEqual([]);
  });
});
