import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, killSpawned, spawnProcess, waitGone } from '../helpers/processes.js';

afterAll(killSpawned);

describe('the logger', () => {
  it('lets the process exit when nobody reads its stdout any more', async () => {
    // regression: pino's asynchronous stdout writer flushed its buffer on exit, met EPIPE on the broken pipe and
    // retried forever with a blocking sleep, so a service whose parent had died never exited
    const proc = spawnProcess(process.execPath, ['--import', 'tsx', 'test/fixtures/log-then-exit.ts'], childEnv({}));
    await proc.waitFor(/^ready$/);
    proc.child.stdout?.destroy();
    proc.child.kill('SIGUSR2');
    expect(await waitGone(proc.child.pid as number, 10_000)).toBe(true);
  });
});
