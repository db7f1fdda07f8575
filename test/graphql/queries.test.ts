import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { graphql } from './client.js';

// Lists and single records: Talpa filter arguments, paging by offset, ordering, and argument errors.
let t: TestService;
const ids: Record<string, string> = {};
beforeAll(async () => {
  t = await startTestService();
  for (const name of ['Delta', 'Alfa', 'Charlie', 'Bravo', 'Echo'])
    ids[name] = (await t.call('/firm/create', { name }).expect(200)).body._id as string;
  await t.call('/firm/mark_disable', { _id: ids.Charlie }).expect(200);
  await t.call('/firm/update', { _id: ids.Bravo, nip: '5260250274' }).expect(200);
});
afterAll(async () => {
  await t.close();
});

const names = (res: { body: { data: { firms: { results: Array<{ name: string }> } } } }) => res.body.data.firms.results.map((r) => r.name);

describe('list fields', () => {
  it('pages by offset with limit in the given ordering', async () => {
    const res = await graphql(t, '{ firms { totalCount results(limit: 2, offset: 1, ordering: "name") { name } } }').expect(200);

    expect(res.body).toEqual({ data: { firms: { totalCount: 5, results: [{ name: 'Bravo' }, { name: 'Charlie' }] } } });
  });

  it('orders by -id by default, like find', async () => {
    const res = await graphql(t, '{ firms { results { name } } }').expect(200);

    expect(names(res)).toEqual(['Echo', 'Bravo', 'Charlie', 'Alfa', 'Delta']);
  });

  it('filters with state_In', async () => {
    const res = await graphql(t, '{ firms(state_In: [200]) { totalCount results { id name state } } }').expect(200);

    expect(res.body).toEqual({ data: { firms: { totalCount: 1, results: [{ id: ids.Charlie, name: 'Charlie', state: 200 }] } } });
  });

  it('filters with Istartswith, Isnull or an equality argument', async () => {
    const starts = await graphql(t, '{ firms(name_Istartswith: "e") { results { name } } }').expect(200);
    const withNip = await graphql(t, '{ firms(nip_Isnull: false) { results { name nip } } }').expect(200);
    const equal = await graphql(t, '{ firms(name: "Alfa") { results { id } } }').expect(200);

    expect(names(starts)).toEqual(['Echo']);
    expect(withNip.body.data.firms.results).toEqual([{ name: 'Bravo', nip: '5260250274' }]);
    expect(equal.body.data.firms.results).toEqual([{ id: ids.Alfa }]);
  });

  it('filters with createdAt_Gte given as a variable', async () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    const res = await graphql(t, 'query ($from: DateTime) { firms(createdAt_Gte: $from) { totalCount } }', { from: future }).expect(200);

    expect(res.body).toEqual({ data: { firms: { totalCount: 0 } } });
  });

  it('answers invalid_params naming the argument when a filter value is refused by the params rules', async () => {
    const res = await graphql(t, '{ firms(createdAt_Gte: "yesterday") { totalCount } }').set('X-Request-Id', 'req-bad-filter').expect(200);

    expect(res.body).toEqual({
      data: { firms: { totalCount: null } },
      errors: [
        {
          message: 'Invalid argument createdAt_Gte: must be a date-time such as 2024-05-01T08:00:00Z or 2024-05-01 08:00:00',
          locations: [{ line: 1, column: 39 }],
          path: ['firms', 'totalCount'],
          extensions: {
            code: 'invalid_params',
            fields: [{ field: 'createdAt_Gte', messages: ['must be a date-time such as 2024-05-01T08:00:00Z or 2024-05-01 08:00:00'] }],
            request_id: 'req-bad-filter',
          },
        },
      ],
    });
  });

  it('refuses an ordering by an undeclared field, naming ordering', async () => {
    const res = await graphql(t, '{ firms { results(ordering: "nip") { id } } }').expect(200);

    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'invalid_params',
      fields: [{ field: 'ordering', messages: ['cannot sort by "nip" (sortable: name, _id, created_at)'] }],
    });
  });

  it('refuses a limit over 50', async () => {
    const res = await graphql(t, '{ firms { results(limit: 51) { id } } }').expect(200);

    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'invalid_params',
      fields: [{ field: 'limit', messages: ['must be between 1 and 50'] }],
    });
  });

  it('answers a GraphQL validation error for an undeclared filter argument', async () => {
    const res = await graphql(t, '{ firms(nip_Icontains: "52") { totalCount } }').expect(400);

    expect(res.body.errors[0].message).toBe('Unknown argument "nip_Icontains" on field "Query.firms". Did you mean "name_Icontains"?');
  });
});

describe('single fields', () => {
  it('answers firm(id) with the record', async () => {
    const res = await graphql(t, `{ firm(id: "${ids.Bravo}") { id name nip state } }`).expect(200);

    expect(res.body).toEqual({ data: { firm: { id: ids.Bravo, name: 'Bravo', nip: '5260250274', state: 100 } } });
  });

  it('answers null for an id that matches nothing', async () => {
    const res = await graphql(t, '{ firm(id: "5a72897dce6d2a27056b21b0") { id } }').expect(200);

    expect(res.body).toEqual({ data: { firm: null } });
  });

  it('answers invalid_params naming id for an id that is not an ObjectId', async () => {
    const res = await graphql(t, '{ firm(id: 12) { id } }').expect(200);

    expect(res.body.errors[0].extensions).toMatchObject({
      code: 'invalid_params',
      fields: [{ field: 'id', messages: ['must be an ObjectId (24 hex characters)'] }],
    });
  });
});
