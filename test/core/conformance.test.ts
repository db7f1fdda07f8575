import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ObjectId } from 'mongodb';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOpenApi, renderSep12 } from '../../src/core/docs.js';
import { actionTitleZh, resourceNameZh } from '../../src/core/docs-model.js';
import { startTestService, type TestService } from '../helpers/service.js';

// Walks every registered action of the real service (the same cases for every resource).
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t.close();
});

const docsDir = path.resolve(import.meta.dirname, '..', '..', 'docs');

describe('every registered action', () => {
  it('exists: the table holds the seed actions of account, of group', () => {
    const names = t.service.actions.list().map((a) => `${a.resource}/${a.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'account/get',
        'account/find',
        'account/find_one',
        'account/select',
        'account/create',
        'account/update',
        'account/mark_delete',
        'account/batch_create',
        'account/batch_delete',
        'account/mark_restore',
        'group/get',
        'group/mark_delete',
        'group/batch_create',
        'group/batch_delete',
        'group/mark_restore',
      ]),
    );
  });

  it('declares params, a summary, an existing compiled result schema', () => {
    for (const action of t.service.actions.list()) {
      const where = `${action.resource}/${action.name}`;
      expect(action.definition.params, where).toBeTypeOf('object');
      expect(action.validator.jsonSchema, where).toMatchObject({ type: 'object', additionalProperties: false });
      expect(action.definition.summary, where).toBeTruthy();
      expect(t.service.actions.schemas.get(action.definition.result), where).toBe(action.schema);
      expect(['object_result', 'result_set_with_meta', 'result_set', 'ok_result'], where).toContain(action.envelope);
    }
  });

  it('is behind auth unless declared public', async () => {
    const http = supertest(t.app);
    const got: Array<{ where: string; refused: string }> = [];
    const want: typeof got = [];
    for (const action of t.service.actions.list()) {
      const res = await http.post(`/${action.resource}/${action.name}`).send({});
      const where = `${action.resource}/${action.name}`;
      // a 401 names its code; any other status means the call got past auth
      got.push({ where, refused: res.status === 401 ? String(res.body.error?.code) : 'no' });
      want.push({ where, refused: action.public ? 'no' : 'unauthorized' });
    }
    expect(got).toEqual(want);
  });

  it('rejects unknown params before its handler runs', async () => {
    // an action for user callers only is called with a user token (an API key would get 403 first)
    const token = (await t.service.services.userTokens.issue(t.db, new ObjectId())).token;
    const http = supertest(t.app);
    for (const action of t.service.actions.list()) {
      const res = action.callers.includes('service')
        ? await t.call(`/${action.resource}/${action.name}`, { __unexpected: 1 })
        : await http.post(`/${action.resource}/${action.name}`).set('Authorization', `Bearer ${token}`).send({ __unexpected: 1 });
      const where = `${action.resource}/${action.name}`;
      expect({ where, status: res.status, code: res.body.error?.code }).toEqual({ where, status: 400, code: 'invalid_params' });
      expect(res.body.error.fields, where).toContainEqual({
        field: '__unexpected',
        messages: [expect.stringMatching(/^is not a known param/)],
      });
    }
  });

  it('has an entry in the generated docs (SEP-12, OpenAPI)', () => {
    const sep12 = renderSep12(t.service.actions);
    const openapi = renderOpenApi(t.service.actions) as { paths: Record<string, unknown> };
    for (const action of t.service.actions.list()) {
      expect(sep12).toContain(`### /${action.resource}/${action.name} `);
      expect(openapi.paths).toHaveProperty([`/${action.resource}/${action.name}`, 'post']);
    }
  });

  it('has a short Chinese name for its SEP-12 title (declare `titleZh` on the resource, also on an action with a non-standard name)', () => {
    const unnamed = t.service.actions
      .list()
      .filter((action) => {
        const resource = t.service.actions.resources.find((r) => r.name === action.resource) ?? {};
        const title = actionTitleZh(action, resource) ?? '';
        return !/[\u3400-\u9fff]/.test(title) || (!action.definition.titleZh && resourceNameZh(resource) === '');
      })
      .map((action) => `${action.resource}/${action.name}`);
    expect(unnamed).toEqual([]);
  });

  it('is documented by the committed docs/ (run `npm run docs` after changing a declaration)', () => {
    expect(readFileSync(path.join(docsDir, 'api.md'), 'utf8')).toBe(renderSep12(t.service.actions));
    expect(JSON.parse(readFileSync(path.join(docsDir, 'openapi.json'), 'utf8'))).toEqual(renderOpenApi(t.service.actions));
  });
});
