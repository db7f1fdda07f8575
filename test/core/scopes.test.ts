import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScopes, scopesAllow, unknownScopeResource } from '../../src/core/auth.js';
import { loadConfig } from '../../src/core/config.js';
import { expectError } from '../helpers/bodies.js';
import { startTestService, type TestService } from '../helpers/service.js';

// API key scopes (`API_KEYS=name:secret:read|group.write`) are what makes 403 forbidden happen.
const READER = { name: 'reader', secret: 'reader-secret-0123456789', scopes: [{ resource: null, access: 'read' as const }] };
const GROUPS = { name: 'groups', secret: 'groups-secret-0123456789', scopes: [{ resource: 'group', access: 'any' as const }] };

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ extraKeys: [READER, GROUPS] });
});
afterAll(async () => {
  await t.close();
});

const as = (secret: string, path: string, body: object = {}) =>
  supertest(t.app).post(path).set('Authorization', `Bearer ${secret}`).send(body);

describe('API key scopes over HTTP', () => {
  it('lets a read-only key call find', async () => {
    expect((await as(READER.secret, '/group/find')).status).toBe(200);
  });

  it('answers forbidden when a read-only key calls create', async () => {
    expectError(
      await as(READER.secret, '/group/create', { name: 'nope' }),
      403,
      'forbidden',
      'The key "reader" may not call group/create (write)',
    );
    expect(await t.db.collection('group').countDocuments({ name: 'nope' })).toBe(0);
  });

  it('lets a key limited to group write groups', async () => {
    expect((await as(GROUPS.secret, '/group/create', { name: 'allowed' })).status).toBe(200);
  });

  it('answers forbidden when a key limited to group reads accounts', async () => {
    expectError(await as(GROUPS.secret, '/account/find'), 403, 'forbidden', 'The key "groups" may not call account/find (read)');
  });

  it('still answers unknown_action (not forbidden) for an action that does not exist', async () => {
    expectError(await as(GROUPS.secret, '/account/nothing'), 404, 'unknown_action', 'Unknown action account/nothing');
  });
});

describe('parseScopes and scopesAllow', () => {
  it('reads read, write, <resource>, <resource>.<access>, joined by |', () => {
    expect(parseScopes('read|group|wallet.write')).toEqual([
      { resource: null, access: 'read' },
      { resource: 'group', access: 'any' },
      { resource: 'wallet', access: 'write' },
    ]);
  });

  it('says what is wrong with a bad scope', () => {
    expect(parseScopes('read|Group.x')).toBe(
      'bad scope "Group.x" (use read, write, <resource>, <resource>.read or <resource>.write, joined by |)',
    );
  });

  it('allows every action to a key without scopes', () => {
    expect(scopesAllow(undefined, 'wallet', 'write')).toBe(true);
  });

  it('allows only the scoped resource at the scoped access', () => {
    const scopes = [{ resource: 'wallet', access: 'read' as const }];
    expect([scopesAllow(scopes, 'wallet', 'read'), scopesAllow(scopes, 'wallet', 'write'), scopesAllow(scopes, 'group', 'read')]).toEqual([
      true,
      false,
      false,
    ]);
  });
});

describe('API_KEYS with scopes', () => {
  it('reads the third part of an entry as its scopes', () => {
    const keys = loadConfig({ API_KEYS: 'ro:abcdefghijklmnop1234:read,all:qrstuvwxyz0123456789' }).apiKeys;
    expect(keys).toEqual([
      { name: 'ro', secret: 'abcdefghijklmnop1234', scopes: [{ resource: null, access: 'read' }] },
      { name: 'all', secret: 'qrstuvwxyz0123456789' },
    ]);
  });

  it('refuses a malformed scope, naming the key', () => {
    expect(() => loadConfig({ API_KEYS: 'ro:abcdefghijklmnop1234:read|Group' })).toThrow(
      'API_KEYS: key "ro": bad scope "Group" (use read, write, <resource>, <resource>.read or <resource>.write, joined by |)',
    );
  });

  it('names a scope whose resource the service does not have (checked when the service starts)', () => {
    const keys = [{ name: 'ro', secret: 'abcdefghijklmnop1234', scopes: [{ resource: 'acount', access: 'read' as const }] }];
    expect(unknownScopeResource(keys, new Set(['account', 'group']))).toBe(
      'API_KEYS: key "ro": scope "acount" names no resource (resources: account, group)',
    );
  });
});
