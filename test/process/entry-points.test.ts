import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, killSpawned, spawnProcess } from '../helpers/processes.js';

afterAll(killSpawned);

describe('npm run cli', () => {
  it('prints its usage for --help, exiting 0', async () => {
    const proc = spawnProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--help'], childEnv({}));
    expect((await proc.exited).code).toBe(0);
    expect(proc.output()).toMatch(/^usage: npm run cli -- <command>/);
    expect(proc.output()).toContain('wallet verify [--require-settled] [--json]');
  });

  it('prints its usage for an unknown command, exiting 2', async () => {
    const proc = spawnProcess(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'wallet', 'nope'], childEnv({}));
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toMatch(/^usage: npm run cli -- <command>/);
  });
});
