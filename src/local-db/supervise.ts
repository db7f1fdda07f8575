import type { LocalServer, ProvisionLog } from './types.js';

/** Restarts allowed within RESTART_WINDOW_MS before the database is given up for lost. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

export interface SuperviseOptions {
  /** Starts the server again on the port it had (the URL others hold stays right). */
  restart(port: number): Promise<LocalServer>;
  log: ProvisionLog;
  /** Called once when the server died and could not be brought back; the process should exit non-zero. */
  onLost(reason: string): void;
}

/**
 * Keeps a local server of ours running: when it dies while we still need it (killed, crashed), it is started
 * again on the same port over the same data, so the driver reconnects by itself and a process that borrowed it
 * through local-db.json keeps its URL. Started again too often, or not at all, and it is given up: `onLost`.
 * The returned server's `pid` is the current process's.
 */
export function superviseLocalServer(first: LocalServer, options: SuperviseOptions): LocalServer {
  const port = Number(new URL(first.url).port);
  let current = first;
  let stopping = false;
  const restarts: number[] = [];
  let lost!: () => void;
  const ended = new Promise<void>((resolve) => {
    lost = resolve;
  });

  const watch = (server: LocalServer) => {
    void server.exited.then(async () => {
      if (stopping) return;
      const now = Date.now();
      while (restarts.length > 0 && (restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length >= MAX_RESTARTS) return giveUp(`it died ${MAX_RESTARTS + 1} times within ${RESTART_WINDOW_MS / 1000} s`);
      restarts.push(now);
      options.log('warn', `the local database (pid ${server.pid}) died: starting it again on port ${port}`);
      try {
        current = await options.restart(port);
      } catch (err) {
        return giveUp(`it could not be started again: ${(err as Error).message}`);
      }
      if (stopping) {
        await current.stop();
        return;
      }
      options.log('info', `restarted the local database on port ${port} (pid ${current.pid})`);
      watch(current);
    });
  };
  const giveUp = (why: string) => {
    options.log('error', `the local database is lost: ${why}`);
    lost();
    options.onLost(`the local database is lost: ${why}`);
  };
  watch(first);

  return {
    url: first.url,
    get pid() {
      return current.pid;
    },
    exited: ended,
    async stop() {
      stopping = true;
      await current.stop();
      lost();
    },
  };
}
