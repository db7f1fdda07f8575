import { connect, createServer, type Server, type Socket } from 'node:net';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';
import { connectDatabase, type Database } from '../../src/core/db.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { createService, type Service } from '../../src/service.js';
import { TEST_KEY, uniqueDbName } from './service.js';

/** A proxy between a test service and the run's database that can cut one connection on purpose. */
export interface CuttingProxy {
  server: Server;
  /** A driver URL that goes through the proxy. */
  url: string;
  /**
   * The next request past 50 kB (the command of a big insertMany or bulkWrite) reaches the server; its reply does not:
   * the connection is cut instead. With `thenRefuse`, every connection opened afterwards is closed at once until `heal()`.
   */
  arm(options?: { thenRefuse?: boolean }): void;
  /** Lets new connections through again after an `arm({thenRefuse: true})` cut. */
  heal(): void;
  /** How many connections it has cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

const LARGE_REQUEST_BYTES = 50_000;

/**
 * A TCP proxy to `target` that, once armed, lets the next large request through and then cuts that connection instead
 * of passing the server's reply: the server has done what it received, the driver sees its connection die, and
 * whatever the driver had not sent yet is never sent.
 */
export function cuttingProxy(target: URL): Promise<CuttingProxy> {
  let armed = false;
  let refuseAfterCut = false;
  let refusing = false;
  let cuts = 0;
  const server = createServer((client: Socket) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    let sentSinceArmed = 0;
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (armed) sentSinceArmed += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (armed && sentSinceArmed > LARGE_REQUEST_BYTES) {
        armed = false;
        refusing = refuseAfterCut;
        cuts += 1;
        closeBoth();
        return;
      }
      client.write(chunk);
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        server,
        url: `mongodb://127.0.0.1:${port}/?directConnection=true`,
        arm: ({ thenRefuse = false } = {}) => {
          armed = true;
          refuseAfterCut = thenRefuse;
        },
        heal: () => {
          refusing = false;
        },
        cuts: () => cuts,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** A service that reaches the run's database through a cutting proxy, and a direct client to read what is stored. */
export interface ServiceBehindProxy {
  proxy: CuttingProxy;
  database: Database;
  service: Service;
  /** Straight to the database, past the proxy. */
  direct: MongoClient;
  stop(): Promise<void>;
}

export async function serviceBehindProxy(options: {
  dbLabel: string;
  logger?: Logger;
  serverSelectionTimeoutMS?: number;
}): Promise<ServiceBehindProxy> {
  const proxy = await cuttingProxy(new URL(inject('mongoUrl')));
  const database = await connectDatabase({
    url: proxy.url,
    dbName: uniqueDbName(options.dbLabel),
    ...(options.serverSelectionTimeoutMS ? { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS } : {}),
  });
  const direct = new MongoClient(inject('mongoUrl'));
  const service = await createService({
    database,
    config: { apiKeys: [TEST_KEY], bodyLimitBytes: 1024 * 1024 },
    logger: options.logger ?? createLogger({ level: 'silent', pretty: false }),
  });
  return {
    proxy,
    database,
    service,
    direct,
    async stop() {
      await service.stop();
      await database.db.dropDatabase().catch(() => undefined);
      await database.close();
      await direct.close();
      await proxy.close();
    },
  };
}
