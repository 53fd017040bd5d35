// The optional tools' test files (test/support/tools.ts): what npm test leaves out where one is
// missing must be exactly the files that need it, and the line it prints must say how to get them.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { missingToolsNotice, OPTIONAL_TOOLS } from '../support/tools';

const ROOT = join(import.meta.dirname, '..', '..');
const TEST_FILES = (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[]).map((file) =>
  join('test', file),
);

describe('optional tools', () => {
  it.each(
    OPTIONAL_TOOLS.map((tool) => [tool.command, tool] as const),
  )('every test file named for %s is left out with it, and every pattern matches one', (command, tool) => {
    const named = TEST_FILES.filter(
      (file) =>
        file.endsWith('.test.ts') &&
        file
          .split('/')
          .at(-1)!
          .startsWith(tool.filePrefix ?? command),
    );
    const matched = TEST_FILES.filter((file) => picomatch.isMatch(file, [...tool.files]));
    expect(matched.sort()).toEqual(named.sort());
    for (const pattern of tool.files)
      expect(TEST_FILES.some((file) => picomatch.isMatch(file, pattern))).toBe(true);
  });

  it('the notice names what did not run and the install that brings it; none when nothing is missing', () => {
    const [dash, busybox] = OPTIONAL_TOOLS;
    expect(missingToolsNotice([])).toBeNull();
    const notice = missingToolsNotice([dash!, busybox!])!;
    expect(notice.split('\n')).toHaveLength(1);
    expect(notice).toContain('test/supervisor/dash-trees.test.ts');
    expect(notice).toContain('test/supervisor/busybox*.test.ts');
    expect(notice).toContain('the busybox cases of test/supervisor/render.test.ts');
    expect(notice).toMatch(/apt-get install -y dash busybox$/);
    const moto = OPTIONAL_TOOLS.find((tool) => tool.command === 'moto_server')!;
    expect(missingToolsNotice([moto, dash!])).toMatch(
      /to run them: pip install 'moto\[server\]==5\.2\.1' and apt-get install -y dash$/,
    );
  });
});
