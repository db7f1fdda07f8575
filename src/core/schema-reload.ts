import { watch, type FSWatcher } from 'node:fs';
import type { ActionLookup } from './app.js';
import { DeclarationError } from './declaration-error.js';
import { buildActionTable, type ActionTable, type CompiledAction, type ResourceDefinition } from './dispatch.js';
import type { Logger } from './logger.js';

/** How long after the last file event the schemas are read again (an editor's save is several events). */
const SETTLE_MS = 100;

/** The action table of a running service, rebuilt when a YAML file of `dir` changes (development only). */
export class ReloadingActions implements ActionLookup {
  private table: ActionTable;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    initial: ActionTable,
    private readonly resources: readonly ResourceDefinition[],
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    this.table = initial;
  }

  /** The table in use: the last one whose declarations checked clean. */
  get current(): ActionTable {
    return this.table;
  }

  lookup(resource: string, action: string): CompiledAction | undefined {
    return this.table.lookup(resource, action);
  }

  /** Starts watching; a change is checked by the same code as the start, and a broken edit keeps the last good table. */
  start(): void {
    this.watcher = watch(this.dir, (_event, file) => {
      if (file !== null && !/\.ya?ml$/.test(file)) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reload(), SETTLE_MS);
    });
    this.watcher.on('error', (err) => this.log.error({ err, dir: this.dir }, 'result schema watch stopped'));
  }

  /** Reads and checks the folder again now; returns whether the new schemas are in use. */
  reload(): boolean {
    try {
      this.table = buildActionTable(this.resources, this.dir);
      this.log.info({ schemas: this.table.schemas.all().length }, 'result schemas reloaded');
      return true;
    } catch (err) {
      if (!(err instanceof DeclarationError)) {
        this.log.error({ err }, 'result schemas not reloaded; still serving the last good ones');
        return false;
      }
      this.log.warn(
        { problems: err.lines },
        `result schemas not reloaded: ${err.problems.length} problem(s); still serving the last good ones\n${err.lines.join('\n')}`,
      );
      return false;
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
