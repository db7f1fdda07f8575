/**
 * `npm run fuzz -- --requests N [--seed S]`: a long attack run (the CI runs a bounded one inside `npm test`).
 * Starts the same vitest file with FUZZ_REQUESTS / FUZZ_SEED; its exit code is the run's.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, seed: { type: 'string' }, help: { type: 'boolean' } },
});
if (values.help) {
  process.stdout.write('usage: npm run fuzz -- [--requests N] [--seed S]\n');
  process.exit(0);
}
const requests = Number(values.requests);
if (!Number.isInteger(requests) || requests < 1) {
  process.stderr.write(`--requests must be a positive whole number (got "${values.requests}")\n`);
  process.exit(2);
}
const env = { ...process.env, FUZZ_REQUESTS: String(requests), ...(values.seed ? { FUZZ_SEED: values.seed } : {}) };
const run = spawnSync('npx', ['vitest', 'run', 'test/fuzz/actions.test.ts'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
