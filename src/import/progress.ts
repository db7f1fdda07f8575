import cliProgress from 'cli-progress';
import type { ImportStats } from './importer.js';

/** What the import reports to: `update` after every confirmed batch, `stop` once at the end. */
export interface Progress {
  update(stats: ImportStats): void;
  stop(): void;
}

/** How often the plain lines come when stderr is not a terminal. */
const LINE_EVERY_MS = 2000;
const WIDEST_BAR = 40;
const NARROWEST_BAR = 5;

/**
 * A bar on a terminal (rows done/total, rows/s, ETA, errors so far); a plain line every 2 s otherwise (a log file
 * or a CI job gets lines it can keep, not carriage returns). Both show the same figures: the rate is this run's
 * average, the ETA the remaining rows at that rate ("?" before the first batch is confirmed).
 */
export function createProgress(total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  const figures = (stats: ImportStats) => {
    // rows a resumed run skipped took no time: the rate counts this run's rows only
    const rate = (stats.done - stats.resumed) / Math.max((Date.now() - started) / 1000, 0.001);
    const eta = rate > 0 ? formatDuration((total - stats.done) / rate) : '?';
    return { speed: Math.round(rate), eta, errors: stats.failed };
  };
  return stream.isTTY ? terminalBar(total, stream, figures) : plainLines(total, stream, figures);
}

type Figures = (stats: ImportStats) => { speed: number; eta: string; errors: number };

function terminalBar(total: number, stream: NodeJS.WriteStream, figures: Figures): Progress {
  const text = (done: number, speed: string, eta: string, errors: number) =>
    `| ${done}/${total} rows | ${speed} rows/s | ETA ${eta} | errors ${errors}`;
  // cli-progress turns the terminal's line wrap off while it draws, so whatever passes the right edge is cut off:
  // the bar gives way, so that the figures fit in the width of the terminal even at their widest
  const widest = `import |${text(total, '999999', '99h59m', total)}`.length;
  const barsize = Math.max(NARROWEST_BAR, Math.min(WIDEST_BAR, (stream.columns || 80) - widest - 1));
  const bar = new cliProgress.SingleBar(
    { stream, barsize, format: 'import |{bar}| {value}/{total} rows | {speed} rows/s | ETA {eta_text} | errors {errors}' },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { speed: 0, eta_text: '?', errors: 0 });
  return {
    // not `eta`: cli-progress fills that one itself, with its own estimate in seconds
    update: (stats) => {
      const { speed, eta, errors } = figures(stats);
      bar.update(stats.done, { speed, eta_text: eta, errors });
    },
    stop: () => bar.stop(),
  };
}

function plainLines(total: number, stream: NodeJS.WriteStream, figures: Figures): Progress {
  let last: ImportStats | undefined;
  const line = () => {
    if (!last) return;
    const { speed, eta, errors } = figures(last);
    stream.write(`import: ${last.done}/${total} rows, ${speed} rows/s, ETA ${eta}, ${errors} errors\n`);
  };
  const timer = setInterval(line, LINE_EVERY_MS);
  timer.unref();
  return {
    update: (stats) => {
      last = { ...stats };
    },
    stop: () => {
      clearInterval(timer);
      line();
    },
  };
}

/** `42s`, `3m05s`, `2h07m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
