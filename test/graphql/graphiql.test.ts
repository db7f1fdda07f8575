import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

// The GraphiQL page of development, opened by a real browser (headless Chromium; .ci/run installs it) from our
// server alone: its CSP allows nothing from elsewhere, and this machine has no internet either.
const run = promisify(execFile);
let t: TestService;
let server: Server;
let base: string;
beforeAll(async () => {
  t = await startTestService();
  server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

async function chromium(): Promise<string> {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = await run('sh', ['-c', `command -v ${name}`]).catch(() => undefined);
    if (found?.stdout.trim()) return found.stdout.trim();
  }
  throw new Error('no chromium on PATH (apt-get install -y chromium; .ci/run does it)');
}

describe('GraphiQL', () => {
  it('renders in headless Chromium with its query editor', async () => {
    const browser = await chromium();
    const { stdout } = await run(
      browser,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--virtual-time-budget=15000',
        '--dump-dom',
        `${base}/graphql`,
      ],
      { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 },
    );

    expect(stdout).toContain('class="graphiql-container"');
    expect(stdout).toContain('graphiql-query-editor');
    expect(stdout).not.toContain('Loading GraphiQL…');
  }, 120_000);
});
