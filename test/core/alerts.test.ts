import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { parse } from 'yaml';
import { Metrics } from '../../src/core/metrics.js';
import { countGatewayCalls, registerWalletMetrics } from '../../src/payments/metrics.js';

const file = new URL('../../docs/alerts.yml', import.meta.url);
const METRIC = /\b(rpc_[a-z_]+|mongodb_[a-z_]+|wallet_[a-z_]+|payment_[a-z_]+)\b/g;
/** Every series name the service exports (histograms with their _bucket/_sum/_count). */
function exported(): string[] {
  const metrics = new Metrics({ processMetrics: false });
  const client = new MongoClient('mongodb://127.0.0.1:9');
  metrics.instrumentClient(client);
  registerWalletMetrics(metrics, client.db('unused'));
  countGatewayCalls(
    { charge: async () => ({ status: 'declined', reason: '' }), payout: async () => ({ status: 'declined', reason: '' }) },
    metrics,
  );
  return metrics.registry
    .getMetricsAsArray()
    .flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name]));
}

describe('docs/alerts.yml', () => {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: Array<{ alert: string; expr: string }> }> };

  it('is a Prometheus rule file of two groups: the service, the wallets', () => {
    expect(doc.groups.map((g) => g.name)).toEqual(['rpc-action-api', 'wallets']);
    for (const rule of doc.groups.flatMap((g) => g.rules))
      expect(Object.keys(rule)).toEqual(expect.arrayContaining(['alert', 'expr', 'labels']));
  });

  it('names only metrics the service exports', () => {
    const named = new Set(doc.groups.flatMap((g) => g.rules).flatMap((r) => r.expr.match(METRIC) ?? []));
    const names = exported();
    expect(named.size).toBeGreaterThan(5);
    for (const metric of named) expect(names).toContain(metric);
  });
});
