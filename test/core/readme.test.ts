import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

describe('README', () => {
  it('links only files that exist inside the repository (or web pages)', () => {
    const text = readFileSync(path.join(root, 'README.md'), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string).filter((t) => !/^(https?:|#)/.test(t));
    expect(targets.length).toBeGreaterThan(0);
    const outside = targets.filter((t) => {
      const file = path.resolve(root, t.split('#')[0] as string);
      return !file.startsWith(`${root}${path.sep}`) || !existsSync(file);
    });
    expect(outside).toEqual([]);
  });
});
