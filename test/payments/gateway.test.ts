import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpGateway, GatewayUnavailableError } from '../../src/payments/gateway.js';

// A stand-in for a real payment provider on loopback, to prove the HTTP gateway's contract.
let server: Server;
let url: string;
const seen: Array<{ path: string; key: string | undefined; auth: string | undefined; body: unknown }> = [];

beforeAll(async () => {
  const app = express();
  app.use(express.json());
  app.post('/:op', async (req, res) => {
    seen.push({ path: req.path, key: req.get('idempotency-key'), auth: req.get('authorization'), body: req.body });
    const no = String(req.body.out_trade_no);
    // far past the 200 ms the timeout test allows; the other tests allow seconds, so a loaded machine cannot fail them
    if (no.startsWith('slow-')) await new Promise((resolve) => setTimeout(resolve, 2000));
    if (no.startsWith('err-')) return void res.status(502).json({ error: 'upstream' });
    if (no.startsWith('decline-')) return void res.status(200).json({ status: 'declined', reason: 'card refused' });
    if (no.startsWith('garbage-')) return void res.status(200).send('<html>');
    res.json({ status: 'succeeded', gateway_trade_no: `GW-${no}` });
  });
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as { port: number };
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('HttpGateway', () => {
  const gateway = (timeoutMs = 10_000) => new HttpGateway({ kind: 'http', url, timeoutMs, token: 'gw-token' });
  const order = (no: string) => ({ out_trade_no: no, money: 1500, wallet_id: '5a72897dce6d2a27056b21a1' });

  it('reads a success', async () => {
    expect(await gateway().charge(order('ok-1'))).toEqual({ status: 'succeeded', gateway_trade_no: 'GW-ok-1' });
    expect(await gateway().payout(order('ok-2'))).toEqual({ status: 'succeeded', gateway_trade_no: 'GW-ok-2' });
  });

  it('posts the order with its out_trade_no as Idempotency-Key', async () => {
    await gateway().charge(order('ok-1'));
    await gateway().payout(order('ok-2'));
    expect(seen.slice(-2)).toEqual([
      { path: '/charge', key: 'ok-1', auth: 'Bearer gw-token', body: order('ok-1') },
      { path: '/payout', key: 'ok-2', auth: 'Bearer gw-token', body: order('ok-2') },
    ]);
  });

  it('reads a decline as final', async () => {
    expect(await gateway().charge(order('decline-1'))).toEqual({ status: 'declined', reason: 'card refused' });
  });

  it.each(['slow-1', 'err-1', 'garbage-1'])('treats %s (timeout, 5xx, unreadable) as unknown: retry later', async (no) => {
    await expect(gateway(200).charge(order(no))).rejects.toBeInstanceOf(GatewayUnavailableError);
  });
});
