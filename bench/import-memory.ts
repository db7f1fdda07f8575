/**
 * The import CLI's own peak memory by file size: `npm run cli -- import account <file>` (the CLI's source through tsx)
 * against a stand-in for `account/batch_create` that answers every call at once, so no database or service shares the
 * figure and the CLI's memory is all that is measured. Peak RSS is the kernel's VmHWM of the CLI, sampled every 50 ms.
 *
 *     npm exec --no -- node --import tsx bench/import-memory.ts            # 10k, 100k, 300k rows
 *     BENCH_SIZES=10000,100000 npm exec --no -- node --import tsx bench/import-memory.ts --trace-gc
 *
 * Arguments are node flags for the CLI (e.g. `--trace-gc`; its output goes to /tmp/import-memory-<rows>.log).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000,300000').split(',').map(Number);
const nodeFlags = process.argv.slice(2);

/** The rows of bench:import: name (Chinese, so the JSON is not ASCII), unique phone, state. */
function accountAt(i: number): string {
  return JSON.stringify({ name: `用户${i}`, phone: `1${String(i).padStart(10, '0')}`, state: i % 10 === 0 ? 200 : 100 });
}

async function main(): Promise<void> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { docs } = JSON.parse(Buffer.concat(chunks).toString()) as { docs: unknown[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ created_count: docs.length, failed_count: 0, _ids: [], errors: [] }));
    });
  }).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const work = mkdtempSync(path.join(tmpdir(), 'import-memory-'));
  try {
    for (const rows of SIZES) {
      const file = path.join(work, `accounts-${rows}.jsonl`);
      writeFileSync(file, `${Array.from({ length: rows }, (_, i) => accountAt(i)).join('\n')}\n`);
      const args = [...nodeFlags, '--import', 'tsx', 'src/cli.ts', 'import', 'account', file, '--url', url, '--batch', '1000'];
      const cli = spawn(process.execPath, args, {
        cwd: root,
        env: { ...process.env, API_KEY: 'bench' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      cli.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      cli.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      let peakKb = 0;
      const timer = setInterval(() => {
        try {
          peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${cli.pid}/status`, 'utf8'))?.[1] ?? 0));
        } catch {
          // gone between two samples: the last one read stands
        }
      }, 50);
      const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
      clearInterval(timer);
      if (nodeFlags.length > 0) writeFileSync(`/tmp/import-memory-${rows}.log`, output);
      if (code !== 0) throw new Error(`import of ${rows} rows exited with ${code}:\n${output}`);
      process.stdout.write(
        `${JSON.stringify({ rows, peak_rss_mb: Math.round(peakKb / 1024), load: readFileSync('/proc/loadavg', 'utf8').split(' ')[0] })}\n`,
      );
    }
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench import-memory failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
