import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { SCHEMA_DIR } from '../../src/service.js';
import { childEnv, killSpawned, spawnService } from '../helpers/processes.js';

// The service itself, started on a copy of result-schemas/ with two mistakes a schema author makes.
const dir = mkdtempSync(path.join(tmpdir(), 'schemas-exit-'));
afterAll(() => {
  killSpawned();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start with declaration mistakes', () => {
  it('prints one line per mistake, the same as schemas check, exiting with code 2', async () => {
    cpSync(SCHEMA_DIR, dir, { recursive: true });
    const file = path.join(dir, 'group.yaml');
    const lines = readFileSync(file, 'utf8').split('\n');
    const typeLine = lines.indexOf('      type: string', lines.indexOf('group_brief:'));
    lines[typeLine] = '      type: strng';
    const metaLine = lines.indexOf('  meta: object_result', lines.indexOf('group_detail:'));
    lines.splice(metaLine + 1, 0, '  strict: true');
    writeFileSync(file, lines.join('\n'));

    const proc = spawnService(
      childEnv({ MONGODB_URL: inject('mongoUrl'), MONGODB_DB: 'declaration_exit', RESULT_SCHEMAS_DIR: dir, LOG_LEVEL: 'fatal' }),
    );
    const { code } = await proc.exited;
    const printed = proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith(file));
    expect({ code, printed }).toEqual({
      code: 2,
      printed: [
        `${file}:${typeLine + 1}:13: group_brief.name: unknown type "strng" (allowed: object_id, string, int, float, bool, datetime, date, list, object, object_ref)`,
        `${file}:${metaLine + 2}:3: group_detail.strict: unknown key "strict" (allowed: strict_mode, model_name, meta, data, note)`,
      ],
    });
  });
});
