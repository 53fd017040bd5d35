// The tools some tests need besides Node and git. Each is optional on a developer's machine: a
// missing one takes out only the tests named for it, and `npm test` says so in one line. CI must
// have them all (CI=true fails loudly), and `.ci/run` installs them.

import { spawnSync } from 'node:child_process';

export interface OptionalTool {
  readonly command: string;
  /** The Debian package that provides it, or how else to install it. */
  readonly install: { readonly debianPackage: string } | { readonly command: string };
  /** The test files that exist for it alone (globs relative to the repository). */
  readonly files: readonly string[];
  /** What the names of those files start with, when not with `command`. */
  readonly filePrefix?: string;
  /** Cases of other files that are generated only where it is installed. */
  readonly cases?: string;
}

export const OPTIONAL_TOOLS: readonly OptionalTool[] = [
  {
    command: 'dash',
    install: { debianPackage: 'dash' },
    files: ['test/supervisor/dash.test.ts', 'test/supervisor/dash-trees.test.ts'],
    cases: 'the dash cases of test/supervisor/render.test.ts',
  },
  {
    command: 'busybox',
    install: { debianPackage: 'busybox' },
    files: ['test/supervisor/busybox*.test.ts'],
    cases: 'the busybox cases of test/supervisor/render.test.ts',
  },
  {
    command: 'shellcheck',
    install: { debianPackage: 'shellcheck' },
    files: ['test/supervisor/shellcheck.test.ts'],
  },
  {
    // moto's server answers the AWS APIs Finale's adapters use (SSM, KMS, ECS, DynamoDB, Step
    // Functions, Secrets Manager, S3, Logs), checking requests against the services' models (test/support/moto.ts).
    command: 'moto_server',
    install: { command: "pip install 'moto[server]==5.2.1'" },
    files: ['test/**/moto-*.test.ts'],
    filePrefix: 'moto-',
  },
];

const found = new Map<string, boolean>();

/** Whether `command` is on PATH. */
export function installed(command: string): boolean {
  let answer = found.get(command);
  if (answer === undefined) {
    answer = spawnSync('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', command]).status === 0;
    found.set(command, answer);
  }
  return answer;
}

export function missingTools(): OptionalTool[] {
  return OPTIONAL_TOOLS.filter((tool) => !installed(tool.command));
}

/** The one line `npm test` prints when tools are missing; null when none is. */
export function missingToolsNotice(missing: readonly OptionalTool[]): string | null {
  if (missing.length === 0) return null;
  const names = missing.map((tool) => tool.command).join(', ');
  const packages = missing.flatMap((tool) =>
    'debianPackage' in tool.install ? [tool.install.debianPackage] : [],
  );
  const installs = [
    ...missing.flatMap((tool) => ('command' in tool.install ? [tool.install.command] : [])),
    ...(packages.length ? [`apt-get install -y ${packages.join(' ')}`] : []),
  ];
  const skipped = missing.flatMap((tool) => [...tool.files, ...(tool.cases ? [tool.cases] : [])]);
  return `npm test: ${names} not installed, so these did not run: ${skipped.join(', ')}; to run them: ${installs.join(' and ')}`;
}
