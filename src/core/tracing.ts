import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';

/**
 * Traces with OpenTelemetry, made by our own code rather than by instrumentation packages that patch express and the
 * driver on load (ESM needs a loader hook for that): a span per request from the transport (named `resource/action`
 * once the action is known), a child span per database command from the driver's command monitoring, a span per
 * gateway call. The W3C `traceparent` header is accepted and passed on. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is
 * set: then nothing is registered, and every API call below is OpenTelemetry's no-op.
 */
const TRACER_NAME = 'rpc-action-api';

/** A started tracing setup; `shutdown` flushes what is still buffered. */
export interface Tracing {
  shutdown(): Promise<void>;
}

let started: { shutdown(): Promise<void> } | undefined;

/**
 * Starts tracing for the process when `endpoint` is set (the OTLP/HTTP exporter reads the standard OTEL_* variables)
 * or an exporter is given (tests: an in-memory one, exported at once). Registers the global context manager,
 * propagator and tracer provider of the OpenTelemetry API: there is one trace context per process.
 */
export async function startTracing(options: {
  endpoint?: string;
  exporter?: SpanExporter;
  serviceName?: string;
}): Promise<Tracing | undefined> {
  if (!options.endpoint && !options.exporter) return undefined;
  if (started) throw new Error('tracing is already started in this process');
  // loaded only when tracing is on: a process without it carries none of the SDK and the exporter
  const [sdk, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
  ]);
  const exporter = options.exporter ?? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  const processor = options.exporter ? new sdk.SimpleSpanProcessor({ exporter }) : new sdk.BatchSpanProcessor({ exporter });
  // OTEL_TRACES_SAMPLER_ARG (0..1): the share of new traces kept; a request that comes with a traceparent follows
  // its caller's decision (the SDK no longer reads the OTEL_TRACES_SAMPLER variables itself)
  const ratio = Number(process.env.OTEL_TRACES_SAMPLER_ARG);
  const sampler =
    process.env.OTEL_TRACES_SAMPLER_ARG && Number.isFinite(ratio) && ratio >= 0 && ratio < 1
      ? new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) })
      : undefined;
  const provider = new sdk.TracerProvider({
    ...(sampler ? { sampler } : {}),
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? process.env.OTEL_SERVICE_NAME ?? TRACER_NAME }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  started = provider;
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
      started = undefined;
    },
  };
}

/** Whether tracing is on in this process (the hot path skips all of it when not). */
export function tracingOn(): boolean {
  return started !== undefined;
}

function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The span of one request: started when it arrives, named when its action is known, ended when it is answered. */
export function startRequestSpan(method: string, traceparent: string | undefined): Span {
  const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
  return tracer().startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
}

/** Ends a request span with its status (a 5xx marks it failed). */
export function endRequestSpan(span: Span, status: number, errorCode: string | undefined): void {
  span.setAttribute('http.response.status_code', status);
  if (errorCode) span.setAttribute('error.type', errorCode);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** Runs `fn` with `span` as the current span: database and gateway spans made inside become its children. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** The current trace as a W3C `traceparent` value (to store with work another process does later), if any. */
export function activeTraceparent(): string | undefined {
  if (!started) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** Adds the current trace's headers (`traceparent`) to an outgoing request's headers. */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (started) propagation.inject(context.active(), headers);
  return headers;
}

/**
 * Runs `fn` inside a client span named `name`, a child of the current span or else of `traceparent` (work recorded
 * by a request and done later by another process, such as the worker's gateway call). Not traced when off.
 */
export async function inClientSpan<T>(
  name: string,
  traceparent: string | undefined,
  attributes: Record<string, string>,
  fn: () => Promise<T>,
): Promise<T> {
  if (!started) return await fn();
  const active = trace.getSpan(context.active()) ? context.active() : undefined;
  const parent = active ?? (traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT);
  const span = tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/** `trace_id` and `span_id` of the current span, for a pino mixin: every log line of a traced request carries them. */
export function traceLogFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** The trace id of a span, for the request's own log line (written after the span's context is gone). */
export function traceIdOf(span: Span | undefined): string | undefined {
  return span?.spanContext().traceId;
}

/**
 * A child span per database command of a traced request or job, from the driver's command monitoring (the client
 * must be made with `monitorCommands: true`): `find account`, `update wallet`. Commands outside any span (the
 * driver's own, a worker's idle polling) make none.
 */
export function traceCommands(client: MongoClient): void {
  const open = new Map<string, Span>();
  const keyOf = (event: { requestId: number; connectionId?: unknown }) => `${String(event.connectionId)}:${event.requestId}`;
  client.on('commandStarted', (event: CommandStartedEvent) => {
    if (!started) return;
    const active = context.active();
    if (!trace.getSpan(active)) return;
    const target = event.command[event.commandName];
    const collection = typeof target === 'string' ? target : undefined;
    const span = tracer().startSpan(
      collection ? `${event.commandName} ${collection}` : event.commandName,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'mongodb',
          'db.operation.name': event.commandName,
          'db.namespace': event.databaseName,
          ...(collection ? { 'db.collection.name': collection } : {}),
        },
      },
      active,
    );
    open.set(keyOf(event), span);
  });
  const end = (event: CommandSucceededEvent | CommandFailedEvent, failed: boolean) => {
    const key = keyOf(event);
    const span = open.get(key);
    if (!span) return;
    open.delete(key);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: (event as CommandFailedEvent).failure.message });
    span.end();
  };
  client.on('commandSucceeded', (event) => end(event, false));
  client.on('commandFailed', (event) => end(event, true));
}

/** The span type, for callers that keep one. */
export type { Span };
