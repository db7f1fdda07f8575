import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { graphql } from './client.js';

// The examples of seed 001 (Talpa API documentation), character for character; only where an example names
// record 12 do we also run it with the id of a record that exists (ids here are ObjectIds, README "GraphQL").
const LIST_QUERY = `query {
  firms(name_Icontains: "Testowa") {
    totalCount
    results(limit: 5, offset: 0, ordering: "name, -id") {
      id
      name
    }
  }
}`;

const CREATE_MUTATION = `mutation ($data: MerchandiseCreateGenericType!) {
merchandiseCreate(newMerchandise: $data) {
ok
errors {
messages
field
}
merchandise {
id
}
}
}`;
const CREATE_VARIABLES = { data: { displayName: 'Tak!', lastLat: 15.0, lastLon: 52.0 } };

const UPDATE_MUTATION = `mutation ($data: MerchandiseUpdateGenericType!) {
  merchandiseUpdate(newMerchandise: $data) {
    ok
    errors {
      messages
      field
    }
    merchandise {
      displayName
    }
  }
}`;
const UPDATE_VARIABLES = { data: { id: 12, displayName: 'Tak 12', lastLat: 15.0, lastLon: 52.0 } };

const DELETE_MUTATION = `mutation {
merchandiseDelete(id: 12) {
ok
errors {
messages
field
}
}
}`;

const NOT_AN_ID = [{ field: 'id', messages: ['must be an ObjectId (24 hex characters)'] }];

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

async function createMerchandise(): Promise<string> {
  const res = await graphql(t, CREATE_MUTATION, CREATE_VARIABLES).expect(200);
  return res.body.data.merchandiseCreate.merchandise.id as string;
}

describe('seed 001: listing', () => {
  it('answers firms(name_Icontains) with totalCount, five results ordered by name, then id descending', async () => {
    const names = [
      'Testowa B',
      'Inna firma',
      'testowa a',
      'Firma Testowa',
      'Testowa B',
      'Zupełnie inna',
      'Testowa C',
      'TESTOWA D',
      'Testowa E',
    ];
    const ids: Record<string, string[]> = {};
    for (const name of names) {
      const res = await t.call('/firm/create', { name }).expect(200);
      (ids[name] ??= []).push(res.body._id as string);
    }
    const [olderB, newerB] = ids['Testowa B'] as [string, string];

    const res = await graphql(t, LIST_QUERY).expect(200);

    // the embedded server and MongoDB compare strings by code point: upper case before lower case
    expect(res.body).toEqual({
      data: {
        firms: {
          totalCount: 7,
          results: [
            { id: ids['Firma Testowa']?.[0], name: 'Firma Testowa' },
            { id: ids['TESTOWA D']?.[0], name: 'TESTOWA D' },
            { id: newerB, name: 'Testowa B' },
            { id: olderB, name: 'Testowa B' },
            { id: ids['Testowa C']?.[0], name: 'Testowa C' },
          ],
        },
      },
    });
  });
});

describe('seed 001: creating and changing', () => {
  it('creates merchandise from the seed variables, answering ok with its id', async () => {
    const res = await graphql(t, CREATE_MUTATION, CREATE_VARIABLES).expect(200);

    expect(res.body).toEqual({
      data: { merchandiseCreate: { ok: true, errors: [], merchandise: { id: expect.stringMatching(/^[0-9a-f]{24}$/) } } },
    });
    const stored = await t.call('/merchandise/get', { _id: res.body.data.merchandiseCreate.merchandise.id }).expect(200);
    expect(stored.body).toMatchObject({ display_name: 'Tak!', last_lat: 15, last_lon: 52, default_lat: null });
  });

  it('answers the update of record 12 with ok false, the id field error (ids are ObjectIds)', async () => {
    const res = await graphql(t, UPDATE_MUTATION, UPDATE_VARIABLES).expect(200);

    expect(res.body).toEqual({ data: { merchandiseUpdate: { ok: false, errors: NOT_AN_ID, merchandise: null } } });
  });

  it('updates an existing record with the seed mutation, answering its new displayName', async () => {
    const id = await createMerchandise();

    const res = await graphql(t, UPDATE_MUTATION, { data: { ...UPDATE_VARIABLES.data, id } }).expect(200);

    expect(res.body).toEqual({ data: { merchandiseUpdate: { ok: true, errors: [], merchandise: { displayName: 'Tak 12' } } } });
  });

  it('reports a field the RPC validation refuses in errors with ok false, by its GraphQL name', async () => {
    const res = await graphql(t, CREATE_MUTATION, { data: { displayName: '', lastLat: 95 } }).expect(200);

    expect(res.body).toEqual({
      data: {
        merchandiseCreate: {
          ok: false,
          errors: [
            { field: 'displayName', messages: ['must be at least 1 character'] },
            { field: 'lastLat', messages: ['must be <= 90'] },
          ],
          merchandise: null,
        },
      },
    });
  });
});

describe('seed 001: deleting', () => {
  it('answers the delete of record 12 with ok false, the id field error', async () => {
    const res = await graphql(t, DELETE_MUTATION).expect(200);

    expect(res.body).toEqual({ data: { merchandiseDelete: { ok: false, errors: NOT_AN_ID } } });
  });

  it('deletes an existing record with the seed mutation: ok, no errors, the record gone', async () => {
    const id = await createMerchandise();

    const res = await graphql(t, DELETE_MUTATION.replace('(id: 12)', `(id: "${id}")`)).expect(200);

    expect(res.body).toEqual({ data: { merchandiseDelete: { ok: true, errors: [] } } });
    await t.call('/merchandise/get', { _id: id }).expect(404);
  });
});
