import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The shape issue 12 asked for, held by a test so that new code keeps it: no source file over 400
// lines, and the layers importing one way only (routes and pages → services → stores → db).
const here = fileURLToPath(new URL('.', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'test-support' || e.name === 'fuzz' ? [] : sources(path);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path] : [];
  });
}

const files = sources(here).map((path) => ({
  name: relative(here, path),
  text: readFileSync(path, 'utf8'),
}));

/** The top directory of each relative import of a file (`../storage/x.js` from services/ → `storage`). */
function layersImported(name: string, text: string): string[] {
  const from = name.split('/').slice(0, -1);
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)'/g)].map((m) => {
    const parts = [...from];
    for (const part of m[1]!.split('/')) {
      if (part === '..') parts.pop();
      else if (part !== '.') parts.push(part);
    }
    return parts.length > 1 ? parts[0]! : '(top)';
  });
}

/** What each layer must not import. */
const FORBIDDEN: Record<string, string[]> = {
  // routes and pages reach the data through the services (and their types), never a store's rows
  http: ['storage', 'db'],
  dashboard: ['storage', 'db'],
  db: ['storage', 'services', 'http', 'dashboard'],
  storage: ['services', 'http', 'dashboard'],
  services: ['http', 'dashboard'],
};

describe('the server source', () => {
  it('has no file over 400 lines (tests aside)', () => {
    expect(files.length).toBeGreaterThan(50);
    const long = files
      .map((f) => ({ name: f.name, lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });

  it('imports one way: routes and pages, then services, then stores, then the database', () => {
    const wrong = files.flatMap((f) => {
      const layer = f.name.split('/')[0]!;
      return layersImported(f.name, f.text)
        .filter((to) => FORBIDDEN[layer]?.includes(to))
        .map((to) => `${f.name} imports ${to}`);
    });
    expect(wrong).toEqual([]);
  });
});
