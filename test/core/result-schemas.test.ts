import { Long, ObjectId, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connectDatabase, type Database } from '../../src/core/db.js';
import { DeclarationError } from '../../src/core/declaration-error.js';
import { compileSchemas, type SchemaRegistry } from '../../src/core/result-schemas.js';
import { checkSchemas } from '../../src/core/schema-check.js';
import type { ModelCatalog } from '../../src/core/schema-model-check.js';
import { shapeResult } from '../../src/core/dispatch.js';
import { uniqueDbName } from '../helpers/service.js';

const MODELS: ModelCatalog = new Map([
  ['person', { collection: 'people' }],
  ['team', { collection: 'teams' }],
  ['org', { collection: 'orgs' }],
]);

/** Compiles schemas given as parsed YAML, through the same checks as the files (positions are not under test here). */
function compile(schemas: Record<string, unknown>): SchemaRegistry {
  const sources = Object.entries(schemas).map(([name, raw]) => ({ name, file: 'x.yaml', raw, locate: () => ({ line: 1, column: 1 }) }));
  const checked = checkSchemas(sources, { models: MODELS });
  if (checked.problems.length > 0) throw new DeclarationError(checked.problems);
  return compileSchemas(checked.declarations, new Map([...MODELS].map(([name, m]) => [name, m.collection])));
}

describe('shaping against the database', () => {
  let database: Database;
  let db: Db;
  const commands: string[] = [];
  const org = { _id: new ObjectId(), name: 'ACME', secret: 'x' };
  const teams = [
    { _id: new ObjectId(), name: 'core', org_id: org._id, budget: 5 },
    { _id: new ObjectId(), name: 'edge', org_id: org._id, budget: 7 },
  ];
  const schemas = compile({
    org_brief: { model_name: 'org', meta: 'object_result', data: { _id: { type: 'object_id' }, name: { type: 'string' } } },
    team_brief: {
      model_name: 'team',
      meta: 'object_result',
      data: { _id: { type: 'object_id' }, name: { type: 'string' }, org_info: { type: 'object_ref', schema: 'org_brief' } },
    },
    person: {
      model_name: 'person',
      meta: 'object_result',
      data: {
        _id: { type: 'object_id' },
        name: { type: 'string' },
        age: { type: 'int' },
        height: { type: 'float' },
        admin: { type: 'bool' },
        joined_at: { type: 'datetime' },
        born: { type: 'date' },
        tags: { type: 'list', items: 'string' },
        address: { type: 'object', data: { city: { type: 'string' }, zip: { type: 'string' } } },
        team_info: { type: 'object_ref', schema: 'team_brief' },
        mentor_teams: { type: 'object_ref', schema: 'team_brief', from: 'mentor_team_ids' },
      },
    },
    person_loose: { strict_mode: false, model_name: 'person', meta: 'object_result', data: { name: { type: 'string' } } },
  });

  beforeAll(async () => {
    database = await connectDatabase({
      url: inject('mongoUrl'),
      dbName: uniqueDbName('schemas'),
      driverOptions: { monitorCommands: true },
    });
    db = database.db;
    await db.collection('orgs').insertOne(org);
    await db.collection('teams').insertMany(teams);
    database.client.on('commandStarted', (e) => commands.push(e.commandName));
  });
  afterAll(async () => {
    await db.dropDatabase();
    await database.close();
  });

  /** A full record and one with only a name and a dangling ref. */
  const people = () => [
    {
      _id: new ObjectId('5da57976ce6d2a647d539af0'),
      name: '张三',
      age: Long.fromNumber(41),
      height: 1.82,
      admin: true,
      joined_at: new Date('2024-05-01T08:00:00Z'),
      born: new Date('1983-02-01T00:00:00Z'),
      tags: ['a', 'b'],
      address: { city: 'Wuhan', zip: '430000', extra: 'dropped' },
      team_id: teams[0]!._id,
      mentor_team_ids: [teams[1]!._id, new ObjectId('000000000000000000000000'), teams[0]!._id],
      phone: 'not in the schema',
    },
    { _id: new ObjectId('5da57976ce6d2a647d539af1'), name: '李四', team_id: new ObjectId('000000000000000000000001') },
  ];

  it('converts every field type', async () => {
    const [shaped] = await schemas.get('person')!.shapeMany(people().slice(0, 1), db);
    expect(shaped).toEqual({
      _id: '5da57976ce6d2a647d539af0',
      name: '张三',
      age: 41,
      height: 1.82,
      admin: true,
      joined_at: '2024-05-01T08:00:00.000Z',
      born: '1983-02-01',
      tags: ['a', 'b'],
      address: { city: 'Wuhan', zip: '430000' },
      team_info: { _id: teams[0]!._id.toHexString(), name: 'core', org_info: { _id: org._id.toHexString(), name: 'ACME' } },
      mentor_teams: [
        { _id: teams[1]!._id.toHexString(), name: 'edge', org_info: { _id: org._id.toHexString(), name: 'ACME' } },
        null,
        { _id: teams[0]!._id.toHexString(), name: 'core', org_info: { _id: org._id.toHexString(), name: 'ACME' } },
      ],
    });
  });

  it('emits missing fields as null', async () => {
    const [, shaped] = await schemas.get('person')!.shapeMany(people(), db);
    expect(shaped).toEqual({
      _id: '5da57976ce6d2a647d539af1',
      name: '李四',
      age: null,
      height: null,
      admin: null,
      joined_at: null,
      born: null,
      tags: null,
      address: null,
      team_info: null,
      mentor_teams: null,
    });
  });

  it('resolves refs level by level, one $in per (ref field, level)', async () => {
    commands.length = 0;
    await schemas.get('person')!.shapeMany(people(), db);
    // one $in per ref field (team_info, mentor_teams), then one for the next level (org_info of each)
    expect(commands).toEqual(['find', 'find', 'find', 'find']);
  });

  it('reads only the referenced schema fields (projection)', async () => {
    expect(schemas.get('team_brief')!.projection).toEqual({ _id: 1, name: 1, org_id: 1 });
    expect(schemas.get('person_loose')!.projection).toBeUndefined();
  });

  it('passes undeclared fields through, JSON-safe, when strict_mode is false', async () => {
    const [shaped] = await schemas.get('person_loose')!.shapeMany(
      [
        {
          _id: new ObjectId('5da57976ce6d2a647d539af0'),
          name: 'x',
          when: new Date(0),
          n: Long.fromNumber(7),
          nested: { id: new ObjectId('5da57976ce6d2a647d539af1') },
        },
      ],
      db,
    );
    expect(shaped).toEqual({
      name: 'x',
      _id: '5da57976ce6d2a647d539af0',
      when: '1970-01-01T00:00:00.000Z',
      n: 7,
      nested: { id: '5da57976ce6d2a647d539af1' },
    });
  });

  it('refuses to send a record that does not fit its schema', async () => {
    const person = schemas.get('person')!;
    await expect(person.shapeMany([{ _id: new ObjectId(), name: 42 }], db)).rejects.toThrow(
      'result does not fit x.yaml: person.name: expected string, got number 42',
    );
    await expect(person.shapeMany([{ _id: new ObjectId(), age: 1.5 }], db)).rejects.toThrow(
      'result does not fit x.yaml: person.age: expected int, got number 1.5',
    );
    await expect(person.shapeMany([{ _id: new ObjectId(), joined_at: '2024-01-01' }], db)).rejects.toThrow(
      'result does not fit x.yaml: person.joined_at: expected datetime, got string "2024-01-01"',
    );
    await expect(person.shapeMany([{ _id: new ObjectId(), team_id: { $ne: null } }], db)).rejects.toThrow(
      'result does not fit x.yaml: person.team_info: an object_ref holds Object, not an id',
    );
  });

  it('wraps results in the envelopes of seed 004', async () => {
    const brief = schemas.get('org_brief')!;
    const row = { _id: org._id, name: 'ACME' };
    const out = { _id: org._id.toHexString(), name: 'ACME' };
    expect(await shapeResult(brief, 'object_result', row, db)).toEqual(out);
    expect(await shapeResult(brief, 'result_set', { data: [row] }, db)).toEqual({ data: [out] });
    const meta = { has_more: false, page: 1, page_size: 30, result_count: 1 };
    expect(await shapeResult(brief, 'result_set_with_meta', { _meta: meta, data: [row] }, db)).toEqual({ _meta: meta, data: [out] });
    expect(await shapeResult(brief, 'ok_result', { name: 'ACME' }, db)).toEqual({ ok: true, _id: null, name: 'ACME' });
  });
});
