import type { MongoClient } from 'mongodb';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: from a cached read (a few ms) to the database deadline. */
const REQUEST_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const COMMAND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** A gauge read at scrape time (e.g. from the database); errors leave the last value and count a failed scrape. */
export interface ScrapeGauge {
  name: string;
  help: string;
  labelNames?: readonly string[];
  collect(set: (value: number, labels?: Record<string, string>) => void): Promise<void>;
}

/**
 * The service's Prometheus metrics (prom-client): requests per action, database commands and the connection pool
 * from the driver's events, process metrics, and gauges other parts register (wallets). One registry per service,
 * so tests and two services in one process do not share counters.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'action' | 'status'>;
  private readonly duration: Histogram<'action'>;
  private readonly inFlight: Gauge;
  private readonly commands: Counter<'command' | 'outcome'>;
  private readonly commandDuration: Histogram<'command'>;
  private readonly scrapeErrors: Counter<'gauge'>;
  private readonly scrapeGauges: Array<{ spec: ScrapeGauge; metric: Gauge }> = [];

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'rpc_requests_total',
      help: 'Requests by action (resource/action) and HTTP status',
      labelNames: ['action', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'rpc_request_duration_seconds',
      help: 'Request latency by action',
      labelNames: ['action'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.inFlight = new Gauge({ name: 'rpc_requests_in_flight', help: 'Requests being served', registers });
    this.commands = new Counter({
      name: 'mongodb_commands_total',
      help: 'Database commands by name and outcome',
      labelNames: ['command', 'outcome'],
      registers,
    });
    this.commandDuration = new Histogram({
      name: 'mongodb_command_duration_seconds',
      help: 'Database command latency by name',
      labelNames: ['command'],
      buckets: COMMAND_BUCKETS,
      registers,
    });
    this.scrapeErrors = new Counter({
      name: 'metrics_scrape_errors_total',
      help: 'Gauges that could not be read at scrape time',
      labelNames: ['gauge'],
      registers,
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Marks a request as started; the returned function ends it with its action label and status. */
  startRequest(): (action: string, status: number) => void {
    const started = process.hrtime.bigint();
    this.inFlight.inc();
    let ended = false;
    return (action, status) => {
      if (ended) return;
      ended = true;
      this.inFlight.dec();
      this.requests.inc({ action, status: String(status) });
      this.duration.observe({ action }, Number(process.hrtime.bigint() - started) / 1e9);
    };
  }

  /** Counts the driver's commands and watches its pool; the client must be made with `monitorCommands: true`. */
  instrumentClient(client: MongoClient): void {
    client.on('commandSucceeded', (event) => {
      this.commands.inc({ command: event.commandName, outcome: 'ok' });
      this.commandDuration.observe({ command: event.commandName }, event.duration / 1000);
    });
    client.on('commandFailed', (event) => {
      this.commands.inc({ command: event.commandName, outcome: 'error' });
      this.commandDuration.observe({ command: event.commandName }, event.duration / 1000);
    });
    const registers = [this.registry];
    const open = new Gauge({ name: 'mongodb_pool_connections', help: 'Open connections of the driver pool', registers });
    const busy = new Gauge({ name: 'mongodb_pool_connections_checked_out', help: 'Connections in use by an operation', registers });
    const cleared = new Counter({ name: 'mongodb_pool_cleared_total', help: 'Times the pool was cleared (server lost)', registers });
    const waitFailed = new Counter({ name: 'mongodb_pool_checkout_failed_total', help: 'Operations that got no connection', registers });
    client.on('connectionCreated', () => open.inc());
    client.on('connectionClosed', () => open.dec());
    client.on('connectionCheckedOut', () => busy.inc());
    client.on('connectionCheckedIn', () => busy.dec());
    client.on('connectionPoolCleared', () => cleared.inc());
    client.on('connectionCheckOutFailed', () => waitFailed.inc());
  }

  /** Registers a gauge whose value is read when Prometheus scrapes. */
  addScrapeGauge(gauge: ScrapeGauge): void {
    if (this.scrapeGauges.some((g) => g.spec.name === gauge.name)) return;
    const metric = new Gauge({ name: gauge.name, help: gauge.help, labelNames: gauge.labelNames ?? [], registers: [this.registry] });
    this.scrapeGauges.push({ spec: gauge, metric });
  }

  /** A counter others increment (e.g. gateway calls by outcome). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    // read the gauges first, so that a failed read is counted in this very scrape
    await Promise.all(
      this.scrapeGauges.map(async ({ spec, metric }) => {
        try {
          const values: Array<[number, Record<string, string> | undefined]> = [];
          await spec.collect((value, labels) => values.push([value, labels]));
          metric.reset();
          for (const [value, labels] of values) {
            if (labels) metric.set(labels, value);
            else metric.set(value);
          }
        } catch {
          this.scrapeErrors.inc({ gauge: spec.name });
        }
      }),
    );
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
