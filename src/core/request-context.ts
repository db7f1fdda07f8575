import type { Db } from 'mongodb';
import type { ActionContext, Services } from './app.js';
import type { Caller } from './callers.js';
import type { Logger } from './logger.js';

/**
 * One request's context. A class with every field set in its constructor, so each handler and step sees one object
 * shape (fields added later made a new one per request); the child logger is made on first use, as most requests
 * never log from their handler.
 */
export class RequestContext implements ActionContext {
  readonly db: Db;
  readonly requestId: string;
  readonly caller: Caller;
  readonly services: Services;
  status?: number = undefined;
  headers?: Record<string, string> = undefined;
  replayed?: boolean = undefined;
  idempotency?: ActionContext['idempotency'] = undefined;
  #logger: Logger;
  #log: Logger | undefined;

  constructor(db: Db, logger: Logger, requestId: string, caller: Caller, services: Services) {
    this.db = db;
    this.requestId = requestId;
    this.caller = caller;
    this.services = services;
    this.#logger = logger;
  }

  get log(): Logger {
    this.#log ??= this.#logger.child({ req_id: this.requestId });
    return this.#log;
  }
}
