import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, startTestService, type TestService } from '../helpers/service.js';

// random text compresses badly: 20k rows make an xlsx of ~10 MB, more than the socket buffers between the two hold
const ROWS = 20_000;
let t: TestService;
let server: http.Server;

beforeAll(async () => {
  t = await startTestService({ monitorCommands: true });
  const text = (n: number) => randomBytes(n).toString('base64url').slice(0, n);
  const now = new Date();
  for (let start = 0; start < ROWS; start += 5000) {
    const docs = Array.from({ length: 5000 }, (_, k) => ({
      station_id: text(32),
      batch_id: `BP-${start + k}`,
      receipt_id: text(32),
      name: text(100),
      ware_category_1_name: text(64),
      ware_category_2_name: text(64),
      ware_category_3_name: text(64),
      ware_category_4_name: text(64),
      operate_date: new Date(Date.UTC(2017, 9, 22) + k * 1000),
      in_count: k,
      creator_id: 1,
      creator_name: text(32),
      created_at: now,
      updated_at: now,
    }));
    await t.db.collection('stock_in').insertMany(docs);
  }
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
}, 120_000);
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const count = (name: string) => t.commands.filter((c) => c.commandName === name).length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An export of every row whose client stopped reading, once the database reads it causes have stopped. */
async function stalledExport(): Promise<{ request: http.ClientRequest; getMores: number }> {
  const port = (server.address() as AddressInfo).port;
  const body = JSON.stringify({ start_date: '2017-01-01', end_date: '2018-01-01' });
  const request = http.request({
    host: '127.0.0.1',
    port,
    path: '/stock_in/export',
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
  });
  const response = await new Promise<http.IncomingMessage>((resolve) => {
    request.once('response', resolve);
    request.end(body);
  });
  expect(response.statusCode).toBe(200);
  response.pause(); // the client takes nothing more: the socket buffers fill, then the export must wait
  let getMores = count('getMore');
  for (let stable = 0; stable < 4; ) {
    await sleep(250);
    const now = count('getMore');
    stable = now === getMores ? stable + 1 : 0;
    getMores = now;
  }
  return { request, getMores };
}

describe('<resource>/export with a client that stops reading', () => {
  it('stops reading the database while the client reads nothing', async () => {
    const before = count('getMore');
    const { request, getMores } = await stalledExport();
    // 20 documents per reply: reading every row would take ROWS / 20 getMores
    expect(getMores - before).toBeLessThan((ROWS / 20) * 0.75);
    request.destroy();
  }, 60_000);

  it('closes the cursor when the client goes away, reading nothing more', async () => {
    const { request, getMores } = await stalledExport();
    const killsBefore = count('killCursors');
    request.destroy();
    for (let i = 0; i < 100 && count('killCursors') === killsBefore; i++) await sleep(100);
    expect(count('killCursors')).toBe(killsBefore + 1);
    await sleep(500);
    expect(count('getMore')).toBe(getMores);
  }, 60_000);
});
