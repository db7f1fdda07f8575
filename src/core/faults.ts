/**
 * Fault injection for tests, off (a no-op) unless FAULT_INJECTION=enabled, and refused with NODE_ENV=production.
 * CRASH_AT=<point>: the process kills itself with SIGKILL the first time it reaches that point, so tests can prove
 * recovery from a crash between any two steps. STALL_AT=<point> with STALL_MS: the process freezes there (its event
 * loop blocked, as in a long pause) for that long, once, so tests can prove that an actor waking up late does no harm.
 */
export type FaultPoint = (point: string) => void;

export interface FaultOptions {
  enabled: boolean;
  crashAt: string | undefined;
  stallAt?: string | undefined;
  stallMs?: number;
}

/** Builds the fault hook from the validated options. */
export function createFaultPoint(options: FaultOptions): FaultPoint {
  if (!options.enabled || (!options.crashAt && !options.stallAt)) return () => undefined;
  let stalled = false;
  return function faultPoint(point) {
    if (point === options.crashAt) {
      process.stderr.write(`fault injection: SIGKILL at ${point}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
    if (point === options.stallAt && !stalled) {
      stalled = true;
      process.stderr.write(`fault injection: stalling ${options.stallMs ?? 0} ms at ${point}\n`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, options.stallMs ?? 0);
      process.stderr.write(`fault injection: resumed at ${point}\n`);
    }
  };
}
