/**
 * Crash injection for tests: with FAULT_INJECTION=enabled and CRASH_AT=<point>, the process kills itself with
 * SIGKILL the first time it reaches that point, so tests can prove recovery from a crash between any two steps.
 * Off (a no-op) unless both are set; refused with NODE_ENV=production.
 */
export type CrashPoint = (point: string) => void;

export interface FaultOptions {
  enabled: boolean;
  crashAt: string | undefined;
}

/** Builds the crash-point hook from the validated options. */
export function createCrashPoint(options: FaultOptions): CrashPoint {
  if (!options.enabled || !options.crashAt) return () => undefined;
  const target = options.crashAt;
  return function crashPoint(point) {
    if (point !== target) return;
    process.stderr.write(`fault injection: SIGKILL at ${point}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
}
