import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  name?: string;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: DestinationStream;
  /** Fields added to every line (the trace id of the current span when tracing is on). */
  mixin?: () => Record<string, unknown>;
}

/** Paths that must never reach a log line, whatever a caller logs by mistake. */
const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  'secret',
  '*.secret',
  'password',
  '*.password',
];

/** A pino logger: JSON lines in production, pino-pretty when `pretty` (development on a terminal). */
export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    name: options.name,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(options.mixin ? { mixin: options.mixin } : {}),
  };
  if (options.pretty) {
    return pino({
      ...base,
      // one line per entry, as in the JSON form: a request's fields follow its message instead of filling a screen
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  // Synchronous writes to stdout: pino's default asynchronous writer flushes its buffer on exit, and when the
  // reader of stdout is gone (a supervisor that died) that flush meets EPIPE and retries forever with a blocking
  // sleep (sonic-boom 4), so the process could never exit. Written at once, a line is also not lost on SIGKILL.
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
