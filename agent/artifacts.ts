// Step artifacts in S3: one tar.gz per step (`artifacts/<runId>/<step>.tar.gz`) holding the files its
// artifact globs matched, extracted into the workspace of later steps.

import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import picomatch from 'picomatch';

const run = promisify(execFile);

export function artifactKey(runId: string, step: number): string {
  return `artifacts/${runId}/${step}.tar.gz`;
}

async function* files(dir: string, root = dir): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === '.git' && dir === root) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path, root);
    else yield relative(root, path);
  }
}

export interface ArtifactStore {
  /** Uploads the files matching `globs`; returns how many. */
  upload(key: string, workspace: string, globs: readonly string[]): Promise<number>;
  /** Extracts a step's artifacts into the workspace; false when that step stored none. */
  download(key: string, workspace: string): Promise<boolean>;
}

export function s3Artifacts(client: S3Client, bucket: string, scratch: string): ArtifactStore {
  return {
    async upload(key, workspace, globs) {
      if (globs.length === 0) return 0;
      const matches = picomatch([...globs], { dot: true });
      const selected: string[] = [];
      for await (const path of files(workspace)) if (matches(path)) selected.push(path);
      if (selected.length === 0) return 0;
      const list = join(scratch, 'artifacts.list');
      const archive = join(scratch, 'artifacts.tar.gz');
      await writeFile(list, `${selected.join('\n')}\n`);
      try {
        await run('tar', ['-czf', archive, '-C', workspace, '-T', list]);
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(archive) }));
      } finally {
        await rm(list, { force: true });
        await rm(archive, { force: true });
      }
      return selected.length;
    },
    async download(key, workspace) {
      let body: Uint8Array;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        body = await out.Body!.transformToByteArray();
      } catch (error) {
        if (error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound')) return false;
        throw error;
      }
      const archive = join(scratch, `download-${key.replaceAll('/', '_')}`);
      await writeFile(archive, body);
      try {
        await run('tar', ['-xzf', archive, '-C', workspace]);
      } finally {
        await rm(archive, { force: true });
      }
      return true;
    },
  };
}
