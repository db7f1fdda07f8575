import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { ObjectId } from 'mongodb';

/** What survives a killed import: which batches the server confirmed, and the seed of the rows' ids. */
export interface CheckpointState {
  resource: string;
  batch_size: number;
  /** 8 hex: with the start time, makes every row's `_id` (and only that row's) the same on every re-run. */
  run_id: string;
  started_at: number;
  /** Batches 0..confirmed_below-1 are all confirmed. */
  confirmed_below: number;
  /** Confirmed batches above that (several are in flight, so they finish out of order). */
  confirmed: number[];
}

/**
 * The checkpoint file `<file>.import-checkpoint.json`. Each row is sent with an `_id` derived from the run and its
 * ordinal, so a batch that was created but not yet confirmed when the import died is refused as a conflict on
 * `_id` when the resumed run sends it again — never created twice.
 */
export class Checkpoint {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    readonly state: CheckpointState,
  ) {}

  static async load(path: string): Promise<Checkpoint | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    return new Checkpoint(path, JSON.parse(text) as CheckpointState);
  }

  static create(path: string, resource: string, batchSize: number): Checkpoint {
    return new Checkpoint(path, {
      resource,
      batch_size: batchSize,
      run_id: randomBytes(4).toString('hex'),
      started_at: Math.floor(Date.now() / 1000),
      confirmed_below: 0,
      confirmed: [],
    });
  }

  isConfirmed(batch: number): boolean {
    return batch < this.state.confirmed_below || this.state.confirmed.includes(batch);
  }

  /** The `_id` of the row with this ordinal (0-based among the file's records) in this run. */
  idOf(ordinal: number): string {
    const bytes = Buffer.alloc(12);
    bytes.writeUInt32BE(this.state.started_at, 0);
    bytes.write(this.state.run_id, 4, 'hex');
    bytes.writeUInt32BE(ordinal, 8);
    return new ObjectId(bytes).toHexString();
  }

  /** Records a confirmed batch and writes the file (atomically: a kill leaves the old or the new one). */
  confirm(batch: number): Promise<void> {
    const s = this.state;
    if (!s.confirmed.includes(batch)) s.confirmed.push(batch);
    s.confirmed.sort((a, b) => a - b);
    while (s.confirmed[0] === s.confirmed_below) {
      s.confirmed.shift();
      s.confirmed_below += 1;
    }
    return this.save();
  }

  save(): Promise<void> {
    const text = JSON.stringify(this.state);
    this.writing = this.writing.then(async () => {
      await writeFile(`${this.path}.tmp`, text);
      await rename(`${this.path}.tmp`, this.path);
    });
    return this.writing;
  }

  /** The import finished: nothing to resume. */
  async remove(): Promise<void> {
    await this.writing;
    await rm(this.path, { force: true });
  }
}
