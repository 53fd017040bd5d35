// Core is the only door: the adapters (the API, the Lambdas, the local engine, the CLI, the
// simulation) reach runs, plans, locks and deliveries through core functions, never through the
// store, and core hands out no deps to go around it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const ADAPTERS = ['api', 'lambdas', 'local', 'cli', 'simulation'];
// The step task's own program reads its spec from the plans table in a container that has no core.
const STORE_ACCESS = /\b(?:store|deps\.store)\.(?:runs|locks|plans|deliveries|audit|settings|counters)\b/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

describe('the core is the only door', () => {
  const files = ADAPTERS.flatMap((folder) => sources(join(ROOT, folder)));

  it('no adapter touches the store’s repositories', () => {
    const offenders = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) =>
          STORE_ACCESS.test(line) ? [`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(offenders).toEqual([]);
  });

  it('createCore hands out no deps', () => {
    expect(files.filter((file) => /\bcore\.deps\b|\.core\.deps\b/.test(readFileSync(file, 'utf8')))).toEqual(
      [],
    );
    expect(readFileSync(join(ROOT, 'core/index.ts'), 'utf8')).not.toMatch(/^\s+deps,$/m);
  });
});
