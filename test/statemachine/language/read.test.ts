// The one I/O entry point: real files in a temporary directory.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPipelineFile } from '../../../statemachine/language/index';
import { UsageError } from '../../../vocabulary/errors';
import { brief } from './helpers';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finale-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ok = 'pipelines:\n  default:\n    - step:\n        script: [make]\n';

describe('readPipelineFile', () => {
  it('reads and parses a file, naming it in diagnostics', async () => {
    const path = join(dir, 'ok.yml');
    await writeFile(path, `${ok}    - step:\n        script: [x]\n        bad: 1\n`);
    const result = await readPipelineFile(path);
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => [d.file, brief(d)])).toEqual([[path, 'unknown-key@7:9']]);
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const path = join(dir, 'bom.yml');
    await writeFile(path, `\uFEFF${ok}`);
    expect((await readPipelineFile(path)).ok).toBe(true);
  });

  it('refuses a file over 1 MB without parsing it, naming its size', async () => {
    const path = join(dir, 'big.yml');
    await writeFile(path, `${ok}#${'x'.repeat(3 * 1024 * 1024)}\n`);
    const result = await readPipelineFile(path);
    expect(result.diagnostics.map(brief)).toEqual(['file-too-large@1:1']);
    expect(result.diagnostics[0]?.message).toBe(
      'the file is 3.0 MB; Finale reads pipeline files up to 1.0 MB',
    );
  });

  it('refuses bytes that are not UTF-8, with the place of the first', async () => {
    const path = join(dir, 'latin1.yml');
    await writeFile(path, Buffer.concat([Buffer.from(`${ok}# caf`), Buffer.from([0xe9]), Buffer.from('\n')]));
    const result = await readPipelineFile(path);
    expect(result.diagnostics.map(brief)).toEqual(['not-utf8@5:6']);
  });

  it('refuses a binary file', async () => {
    const path = join(dir, 'image.yml');
    await writeFile(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]));
    const result = await readPipelineFile(path);
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['not-utf8']);
  });

  it('throws a UsageError (exit 2) for a missing file or a directory', async () => {
    await expect(readPipelineFile(join(dir, 'missing.yml'))).rejects.toThrow(UsageError);
    await expect(readPipelineFile(join(dir, 'missing.yml'))).rejects.toThrow(/no such file/);
    await expect(readPipelineFile(dir)).rejects.toThrow(/it is a directory/);
  });
});
