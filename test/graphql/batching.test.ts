import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { graphql } from './client.js';

// Counts the database commands one GraphQL request issues (driver command monitoring): object_ref fields are
// loaded for the whole page with one $in per ref field, however many rows the page has.
let t: TestService;
const firms: string[] = [];
beforeAll(async () => {
  t = await startTestService({ monitorCommands: true });
  for (const name of ['Alfa', 'Beta', 'Gamma', 'Delta'])
    firms.push((await t.call('/firm/create', { name }).expect(200)).body._id as string);
  const docs = Array.from({ length: 60 }, (_, i) => ({
    display_name: `Towar ${String(i).padStart(2, '0')}`,
    firm_id: firms[i % 4],
    supplier_id: firms[(i + 1) % 4],
  }));
  await t.call('/merchandise/batch_create', { docs }).expect(200);
});
afterAll(async () => {
  await t.close();
});

const PAGE = `query ($limit: Int) {
  merchandises(displayName_Istartswith: "towar") {
    totalCount
    results(limit: $limit, ordering: "display_name") {
      id
      displayName
      firmInfo { id name }
      supplierInfo { id name }
    }
  }
}`;

async function commandsOf(limit: number) {
  t.commands.length = 0;
  const res = await graphql(t, PAGE, { limit }).expect(200);
  return { res, commands: t.commands.map((c) => `${c.commandName}:${String(c.command[c.commandName])}`).sort() };
}

describe('database commands of a list query with two ref fields', () => {
  it('are four for a page of 50: the page, its count, one $in per ref field', async () => {
    const { res, commands } = await commandsOf(50);

    expect(res.body.data.merchandises.totalCount).toBe(60);
    expect(res.body.data.merchandises.results).toHaveLength(50);
    expect(res.body.data.merchandises.results[5]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      displayName: 'Towar 05',
      firmInfo: { id: firms[1], name: 'Beta' },
      supplierInfo: { id: firms[2], name: 'Gamma' },
    });
    expect(commands).toEqual(['aggregate:merchandise', 'find:firm', 'find:firm', 'find:merchandise']);
  });

  it('are the same four for a page of 5', async () => {
    const { res, commands } = await commandsOf(5);

    expect(res.body.data.merchandises.results).toHaveLength(5);
    expect(commands).toEqual(['aggregate:merchandise', 'find:firm', 'find:firm', 'find:merchandise']);
  });

  it('are two for totalCount alone: the count, a one-row find, no refs', async () => {
    t.commands.length = 0;
    await graphql(t, '{ merchandises { totalCount } }').expect(200);

    expect(t.commands.map((c) => `${c.commandName}:${String(c.command[c.commandName])}`).sort()).toEqual([
      'aggregate:merchandise',
      'find:merchandise',
    ]);
  });
});

describe('database commands of the fields a query selects', () => {
  const commandsFor = async (query: string, variables?: Record<string, unknown>) => {
    t.commands.length = 0;
    const res = await graphql(t, query, variables).expect(200);
    expect(res.body.errors).toBeUndefined();
    return { res, commands: t.commands.map((c) => `${c.commandName}:${String(c.command[c.commandName])}`).sort() };
  };

  it('load no ref for a list that selects none', async () => {
    const { commands } = await commandsFor('{ merchandises { results(limit: 5) { id displayName } } }');

    expect(commands).toEqual(['aggregate:merchandise', 'find:merchandise']);
  });

  it('load only the selected ref of two', async () => {
    const { res, commands } = await commandsFor('{ merchandises { results(limit: 5, ordering: "display_name") { firmInfo { name } } } }');

    expect(res.body.data.merchandises.results[1]).toEqual({ firmInfo: { name: 'Beta' } });
    expect(commands).toEqual(['aggregate:merchandise', 'find:firm', 'find:merchandise']);
  });

  it('follow fragments to the refs they select', async () => {
    const query = `{ merchandises { results(limit: 5, ordering: "display_name") { ...row } } }
      fragment row on MerchandiseType { ... on MerchandiseType { supplierInfo { name } } }`;

    const { res, commands } = await commandsFor(query);

    expect(res.body.data.merchandises.results[1]).toEqual({ supplierInfo: { name: 'Gamma' } });
    expect(commands).toEqual(['aggregate:merchandise', 'find:firm', 'find:merchandise']);
  });

  it('load no ref for a single record that selects none', async () => {
    const id = (await graphql(t, '{ merchandises { results(limit: 1) { id } } }').expect(200)).body.data.merchandises.results[0].id;

    const { res, commands } = await commandsFor('query ($id: ID!) { merchandise(id: $id) { displayName } }', { id });

    expect(res.body.data.merchandise.displayName).toMatch(/^Towar/);
    expect(commands).toEqual(['find:merchandise']);
  });
});
