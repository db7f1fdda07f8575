import type { Logger } from '../core/logger.js';

/** Starts a graceful shutdown (once; later calls wait for the same one). */
export type Shutdown = (reason: string, exitCode?: number) => Promise<void>;

/**
 * SIGTERM/SIGINT run `stoppers` in order and exit; so does the death of the parent process (a `npm start` or
 * `npm run worker` whose npm was killed with SIGKILL would otherwise live on).
 *
 * A signal that comes while stopping is only noted: a terminal's Ctrl-C reaches npm and node alike and npm
 * forwards it once more, so one key press is two SIGINTs, and the second must not end the shutdown the first began.
 * The shutdown timer is the bound on how long it may take.
 */
export function installShutdown(logger: Logger, timeoutMs: number, stoppers: Array<() => Promise<void>>): Shutdown {
  let stopping: Promise<void> | undefined;
  // nothing in here may stop the exit: not a log line that cannot be written (a dead parent took stdout with it),
  // not a stopper that throws or hangs
  const log = (write: () => void) => {
    try {
      write();
    } catch {
      // the log is gone; shutting down matters more
    }
  };
  const run = async (reason: string, exitCode: number): Promise<void> => {
    const timer = setTimeout(() => {
      log(() => logger.error({ timeout_ms: timeoutMs }, 'shutdown took too long; exiting'));
      process.exit(exitCode === 0 ? 1 : exitCode);
    }, timeoutMs);
    timer.unref();
    log(() => logger.info({ reason }, 'shutting down'));
    for (const stop of stoppers) {
      try {
        await stop();
      } catch (err) {
        log(() => logger.error({ err }, 'error during shutdown'));
      }
    }
    log(() => logger.info('stopped'));
    process.exit(exitCode);
  };
  const shutdown: Shutdown = (reason, exitCode = 0) => {
    stopping ??= run(reason, exitCode);
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) log(() => logger.info({ signal }, 'already stopping'));
    else void shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const parentPid = process.ppid;
  if (parentPid > 1) {
    setInterval(() => {
      if (process.ppid !== parentPid) void shutdown('parent process exited');
    }, 1_000).unref();
  }
  return shutdown;
}
