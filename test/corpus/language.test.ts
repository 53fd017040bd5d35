// Every file of the shared corpus, read from disk, against the table in expected.ts; then the same
// files through `finale validate --json` in one process.
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPipelineFile, selectPipeline } from '../../statemachine/language/index';
import { EXPECTED } from './expected';

const CORPUS = resolve('../shared/corpus/bitbucket-pipelines');
const files = (await readdir(CORPUS)).filter((f) => f.endsWith('.yml')).sort();
const errorsOf = (diagnostics: readonly { severity: string; code: string; line: number; column: number }[]) =>
  diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}@${d.line}:${d.column}`);

describe('the corpus', () => {
  it('has an expected outcome for every file, and no outcome for a file that is not there', () => {
    expect(files).toHaveLength(160);
    expect(Object.keys(EXPECTED).sort()).toEqual(files);
  });

  it('rejects about one file in eight', () => {
    const rejected = Object.values(EXPECTED).filter((e) => e !== 'valid');
    expect(rejected.length).toBe(20);
  });

  it.each(files)('%s', async (name) => {
    const result = await readPipelineFile(join(CORPUS, name));
    const expected = EXPECTED[name];
    if (expected === 'valid') {
      expect(errorsOf(result.diagnostics)).toEqual([]);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      // Every pipeline a push to an exact branch name or a custom run asks for is the one selected.
      for (const pipeline of result.file.pipelines) {
        const pattern = pipeline.selector.pattern ?? '';
        if (pipeline.selector.kind === 'branches' && !/[*?[{]/.test(pattern)) {
          expect(selectPipeline(result.file, { kind: 'branch', branch: pattern }).pipeline).toBe(pipeline);
        }
        if (pipeline.selector.kind === 'custom' && pipeline.importFrom === undefined) {
          const variables = Object.fromEntries(
            pipeline.variables.map((v) => [v.name, v.default ?? v.allowedValues?.[0] ?? 'x']),
          );
          expect(selectPipeline(result.file, { kind: 'custom', name: pattern, variables }).pipeline).toBe(
            pipeline,
          );
        }
      }
    } else {
      expect(result.ok).toBe(false);
      expect(errorsOf(result.diagnostics)).toEqual(expected?.errors);
    }
  });

  it('gives the same outcome through `finale validate --json`, all files in one process', async () => {
    const stdout = await new Promise<string>((done, fail) => {
      execFile(
        process.execPath,
        [resolve('bin/finale.js'), 'validate', '--json', ...files.map((f) => join(CORPUS, f))],
        { maxBuffer: 64 * 1024 * 1024 },
        (error, out) => (error && typeof error.code !== 'number' ? fail(error) : done(out)),
      );
    });
    const report = JSON.parse(stdout) as {
      files: {
        file: string;
        valid: boolean;
        diagnostics: { severity: string; code: string; line: number; column: number }[];
      }[];
    };
    for (const entry of report.files) {
      const expected = EXPECTED[entry.file.slice(CORPUS.length + 1)];
      expect(entry.valid).toBe(expected === 'valid');
      expect(errorsOf(entry.diagnostics)).toEqual(expected === 'valid' ? [] : expected?.errors);
    }
  });
});
