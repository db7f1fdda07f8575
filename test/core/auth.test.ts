import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../src/core/auth.js';

const authenticate = createAuthenticator([
  { name: 'billing', secret: 'billing-secret-0123456789' },
  { name: 'import', secret: 'import-secret-abcdefghij' },
]);

describe('createAuthenticator', () => {
  it('names the key a Bearer header carries', () => {
    expect(authenticate('Bearer billing-secret-0123456789')).toBe('billing');
    expect(authenticate('bearer import-secret-abcdefghij')).toBe('import');
  });

  it('returns null for a missing, malformed or unknown key', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Basic billing-secret-0123456789',
      'billing-secret-0123456789',
      'Bearer billing-secret-012345678',
      'Bearer billing-secret-0123456789x',
      'Bearer a b',
    ]) {
      expect(authenticate(header), String(header)).toBeNull();
    }
  });

  it('refuses to be built without keys', () => {
    expect(() => createAuthenticator([])).toThrow('at least one API key is required');
  });
});
