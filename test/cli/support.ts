// Running the real `finale` CLI as a process, against a temp repository, with its background server.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { finalePaths } from '../../local/paths';
import { killSteps } from '../local/harness';

export const BIN = join(import.meta.dirname, '../../bin/finale.js');

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Started {
  readonly child: ChildProcess;
  readonly result: Promise<Result>;
  stdout(): string;
  stderr(): string;
}

export function launch(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FINALE_USER: 'alice@example.com', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const result = new Promise<Result>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, result, stdout: () => stdout, stderr: () => stderr };
}

export function finale(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return launch(args, cwd, env).result;
}

/**
 * Stops the background server a test's CLI calls started in `root`, and kills what its runs left
 * running (a stopped server hands its runs over to the next one, which a test that ends never starts).
 */
export async function stopServer(root: string): Promise<void> {
  await stopServerOnly(root);
  await killSteps({ paths: finalePaths(root) });
}

async function stopServerOnly(root: string): Promise<void> {
  const file = join(root, '.finale', 'server.json');
  if (!existsSync(file)) return;
  let pid: number;
  try {
    ({ pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number });
  } catch {
    // A test that corrupted it on purpose: no server wrote it.
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function serverInfo(root: string): { pid: number; port: number; dynamodb: string } {
  return JSON.parse(readFileSync(join(root, '.finale', 'server.json'), 'utf8'));
}
