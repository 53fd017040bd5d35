// A step's artifacts through moto's S3: the files the globs match (dotfiles too, never the
// workspace's .git) go up as one gzipped tar under the step's key and come down into a later step's
// workspace as they were; a step that stored nothing is a missing key (false, not an error), while a
// bucket that does not exist is an error; no globs or no match puts nothing.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { artifactKey, s3Artifacts } from '../../agent/artifacts';
import { MOTO_REGION, useMoto } from '../support/moto';

const moto = useMoto();
const BUCKET = 'finale-artifacts';
let s3: S3Client;
beforeAll(async () => {
  s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: MOTO_REGION },
    }),
  );
});

const made: string[] = [];
afterAll(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'finale-moto-artifacts-'));
  made.push(dir);
  return dir;
}
async function workspaceWith(files: Record<string, string>): Promise<string> {
  const root = await scratchDir();
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}
const keys = async (prefix: string) =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map(
    (object) => object.Key,
  );

it("uploads the matching files as one tar.gz and extracts them into a later step's workspace", async () => {
  const built = await workspaceWith({
    'dist/app.js': 'console.log(1)\n',
    'dist/assets/logo one.svg': '<svg/>',
    'dist/.env.production': 'MODE=production\n',
    'reports/junit.xml': '<testsuites/>',
    'src/app.ts': 'export {}\n',
    '.git/config': '[core]\n',
  });
  const key = artifactKey('run-1', 0);
  const artifacts = s3Artifacts(s3, BUCKET, await scratchDir());
  expect(await artifacts.upload(key, built, ['dist/**', 'reports/*.xml', '.git/**'])).toBe(4);
  expect(await keys('artifacts/run-1/')).toEqual(['artifacts/run-1/0.tar.gz']);
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  expect(Buffer.from(await object.Body!.transformToByteArray()).subarray(0, 2)).toEqual(
    Buffer.from([0x1f, 0x8b]),
  );

  const later = await workspaceWith({ 'src/app.ts': 'export {}\n' });
  expect(await s3Artifacts(s3, BUCKET, await scratchDir()).download(key, later)).toBe(true);
  expect(await readFile(join(later, 'dist/app.js'), 'utf8')).toBe('console.log(1)\n');
  expect(await readFile(join(later, 'dist/assets/logo one.svg'), 'utf8')).toBe('<svg/>');
  expect(await readFile(join(later, 'dist/.env.production'), 'utf8')).toBe('MODE=production\n');
  expect(await readFile(join(later, 'reports/junit.xml'), 'utf8')).toBe('<testsuites/>');
  await expect(readFile(join(later, '.git/config'))).rejects.toMatchObject({ code: 'ENOENT' });
});

it('puts nothing without globs or matches, and tells a missing artifact from a missing bucket', async () => {
  const workspace = await workspaceWith({ 'src/app.ts': 'export {}\n' });
  const artifacts = s3Artifacts(s3, BUCKET, await scratchDir());
  expect(await artifacts.upload(artifactKey('run-2', 0), workspace, [])).toBe(0);
  expect(await artifacts.upload(artifactKey('run-2', 1), workspace, ['dist/**'])).toBe(0);
  expect(await keys('artifacts/run-2/')).toEqual([]);

  expect(await artifacts.download(artifactKey('run-2', 1), workspace)).toBe(false);
  const elsewhere = s3Artifacts(s3, 'no-such-bucket', await scratchDir());
  await expect(elsewhere.download(artifactKey('run-2', 1), workspace)).rejects.toMatchObject({
    name: 'NoSuchBucket',
  });
});
