// The folders are floors (docs/architecture.md, "Folders"): a module imports from its own folder and
// from folders on lower floors only, never from a peer or from above. Imports are read by the
// TypeScript compiler's own pre-processor, dynamic import() included.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** Lowest first. */
const FLOORS: readonly (readonly string[])[] = [
  ['vocabulary'],
  ['supervisor'],
  ['statemachine'],
  ['store'],
  ['core'],
  ['repository-hosts', 'aws', 'api'],
  ['local', 'lambdas', 'agent'],
  ['cli', 'infra'],
  ['simulation'],
];

const floorOf = new Map(FLOORS.flatMap((folders, floor) => folders.map((folder) => [folder, floor])));

function sources(folder: string): string[] {
  return (readdirSync(join(ROOT, folder), { recursive: true }) as string[])
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(folder, file));
}

/** Every relative import of every source file, as "file → folder it reaches". */
function crossings(): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  for (const folder of floorOf.keys()) {
    for (const file of sources(folder)) {
      const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        if (!fileName.startsWith('.')) continue;
        const target = normalize(join(dirname(file), fileName)).split('/')[0]!;
        if (target !== folder) found.push({ file, target });
      }
    }
  }
  return found;
}

describe('the floors of the source tree', () => {
  it('lists every top-level source folder', () => {
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .filter(
        (entry) =>
          !['node_modules', 'dist', 'cdk.out', 'docs', 'examples', 'test', 'bench', 'bin', 'types'].includes(
            entry.name,
          ),
      )
      .map((entry) => entry.name)
      .sort();
    expect(folders).toEqual([...floorOf.keys()].sort());
  });

  it('every import points down', () => {
    const upward = crossings()
      .filter(({ file, target }) => {
        const from = floorOf.get(file.split('/')[0]!)!;
        const to = floorOf.get(target);
        // Outside the floors: package.json (the version), nothing else.
        return to === undefined ? target !== 'package.json' : to >= from;
      })
      .map(({ file, target }) => `${file} → ${target}/`);
    expect(upward).toEqual([]);
  });
});
