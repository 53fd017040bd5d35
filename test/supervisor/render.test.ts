import { execFileSync, spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { endsAtCommandBoundary, renderScript, renderStep, shellQuote } from '../../supervisor/render';
import { installed } from '../support/tools';

/** Runs a program text with a shell; stdout, stderr and the exit status. */
function runWith(shell: string, program: string): { stdout: string; status: number | null } {
  const result = spawnSync(shell, ['-c', program], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  return { stdout: result.stdout, status: result.status };
}

/** The rendered program's output without its `+ ` echo lines (the test items never print `+ `). */
function withoutEcho(stdout: string): string {
  return stdout
    .split('\n')
    .filter((line) => !line.startsWith('+ '))
    .join('\n');
}

describe('renderScript', () => {
  test('echoes each item before it runs, after set -e', () => {
    expect(renderScript(['npm ci', 'npm test'])).toBe(
      [
        "# Rendered by Finale from the step's items; supervisor.sh runs it.",
        '# shellcheck disable=SC1003,SC2016',
        'set -e',
        "printf '+ %s\\n' 'npm ci'",
        'npm ci',
        "printf '+ %s\\n' 'npm test'",
        'npm test',
        '',
      ].join('\n'),
    );
  });

  test.each([
    ['&&', ['make build &&', 'make test']],
    ['||', ['make build ||', 'echo "build failed"']],
    ['|', ['cat report.txt |', 'grep ERROR']],
    ['a trailing backslash', ['docker build \\', '  -t app .']],
    ['&& before a comment', ['make build && # then test', 'make test']],
  ])('never puts an echo line after an item ending in %s', (_name, items) => {
    expect(renderScript(items)).toBe(
      [
        "# Rendered by Finale from the step's items; supervisor.sh runs it.",
        '# shellcheck disable=SC1003,SC2016',
        'set -e',
        `printf '+ %s\\n' ${items.map(shellQuote).join(' ')}`,
        ...items,
        '',
      ].join('\n'),
    );
  });

  test('keeps compound commands split across items whole, echoed together before them', () => {
    const items = [
      'if [ "$BITBUCKET_BRANCH" = main ]; then',
      'echo deploying',
      'else',
      'echo skipping',
      'fi',
    ];
    const text = renderScript([...items, 'echo after']);
    expect(text).toContain(`printf '+ %s\\n' ${items.map(shellQuote).join(' ')}\n${items.join('\n')}\n`);
    expect(text).toContain("printf '+ %s\\n' 'echo after'\necho after\n");
  });

  test('echoes a multi-line item whole, and runs it as written', () => {
    const item = 'for name in a b; do\n  echo "item $name"\ndone';
    const { stdout } = runWith('sh', renderScript([item]));
    expect(stdout).toBe(`+ ${item}\nitem a\nitem b\n`);
  });

  test('trims trailing blank lines of block scalars', () => {
    expect(renderScript(['echo hi\n\n'])).toContain("printf '+ %s\\n' 'echo hi'\necho hi\n");
  });
});

describe('the rendered program behaves like the items joined, under every shell', () => {
  // Each case: items whose meaning an echo line in the wrong place would change.
  const cases: [string, string[]][] = [
    ['&& across items', ['false &&', 'echo never', 'echo after']],
    ['|| across items', ['false ||', 'echo fallback']],
    ['a pipe across items', ['printf "b\\na\\n" |', 'sort']],
    ['a backslash continuation', ['echo one \\', 'two']],
    ['if/then/fi split', ['if false; then', 'echo no', 'fi', 'echo yes']],
    [
      'if with a multi-item condition',
      ['if true', 'false', 'then', 'echo wrong', 'else', 'echo right', 'fi'],
    ],
    [
      'while with do on its own item',
      ['n=0', 'while [ "$n" -lt 2 ]', 'do', 'n=$((n + 1)); echo "n=$n"', 'done'],
    ],
    ['case split into arms', ['case "x" in', 'x) echo matched', ';;', '*) echo other;;', 'esac']],
    ['a brace group whose status matters', ['{', 'false', '} || echo "group failed"']],
    ['a subshell whose status matters', ['(', 'false', ') || echo "subshell failed"']],
    ['a function defined across items', ['greet()', '{', 'echo "hello $1"', '}', 'greet you']],
    ['a here-document across items', ['cat <<EOF', 'line one', 'EOF', 'echo after']],
    ['a here-document with quotes and tabs', ["cat <<-'END'", '\tkept $HOME', '\tEND', 'echo done']],
    ['an unfinished quote across items', ['echo "one', 'two"']],
    ['$( ) across items', ['echo $(echo a', 'echo b)']],
    ['exports reaching the next item', ['export A=1', 'echo "A=$A"']],
    ['set -e stops at the first failure', ['echo start', 'false', 'echo never']],
  ];

  // dash and busybox where installed (test/support/tools.ts): bash always is.
  for (const shell of ['dash', 'bash', 'busybox'].filter(installed)) {
    test.each(cases)(`%s (${shell})`, (_name, items) => {
      const command = shell === 'busybox' ? ['busybox', 'sh'] : [shell];
      const run = (program: string) => {
        const result = spawnSync(command[0]!, [...command.slice(1), '-c', program], { encoding: 'utf8' });
        return { stdout: result.stdout, status: result.status };
      };
      const plain = run(`set -e\n${items.join('\n')}\n`);
      const rendered = run(renderScript(items));
      expect(rendered.status).toBe(plain.status);
      expect(withoutEcho(rendered.stdout)).toBe(plain.stdout);
      // Every item is echoed, once.
      const echoed = rendered.stdout.split('\n').filter((line) => line.startsWith('+ '));
      expect(echoed.length).toBeGreaterThan(0);
    });
  }
});

describe('endsAtCommandBoundary', () => {
  test.each([
    ['echo hi', true],
    ['make &&', false],
    ['a ||', false],
    ['a |', false],
    ['a \\', false],
    ['echo a\\\\', true],
    ['! ', false],
    ['if true; then', false],
    ['if true; then echo; fi', true],
    ['echo if then fi', true],
    ['echo done', true],
    ['for x in 1 2; do echo $x; done', true],
    ['while read -r line', false],
    ['case $x in', false],
    ['case $x in a) echo a;; esac', true],
    ['cat <<EOF', false],
    ['cat <<EOF\nbody\nEOF', true],
    ["cat <<< 'here string'", true],
    ["echo 'open", false],
    ['echo "a # b"', true],
    ['echo a#b', true],
    ["echo it's", false],
    ["echo $'it\\'s'", true],
    ['echo $(date', false],
    ['x=$((1 + 2))', true],
    ['f()', false],
    ['f() {', false],
    ['f() { echo; }', true],
    ['function f {', false],
    ['( cd sub', false],
    ['( cd sub && make )', true],
    ['arr=(1 2 3)', true],
    ['sleep 1 &', true],
    ['cmd 2>&1', true],
  ])('%j → %s', (text, expected) => {
    expect(endsAtCommandBoundary(`${text}\n`)).toBe(expected);
  });
});

describe('shellQuote and the echo line', () => {
  test('any item text is echoed exactly as written', () => {
    // One sh process prints every generated text; each must come back byte for byte.
    const printable = fc.string({
      unit: fc.constantFrom(...' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~\t\n'.split('')),
    });
    const samples = fc.sample(fc.array(printable, { minLength: 1, maxLength: 3 }), { numRuns: 200, seed: 7 });
    const program = samples
      .map((items) => `printf '+ %s\\n' ${items.map(shellQuote).join(' ')}; printf '\\0'`)
      .join('\n');
    const out = execFileSync('sh', ['-c', program], { encoding: 'utf8' }).split('\0');
    samples.forEach((items, index) => {
      expect(out[index]).toBe(items.map((item) => `+ ${item}\n`).join(''));
    });
  });
});

describe('renderStep', () => {
  test('renders the after-script only when there is one', () => {
    expect(renderStep({ script: ['true'] }).afterScript).toBeNull();
    expect(renderStep({ script: ['true'], afterScript: [] }).afterScript).toBeNull();
    expect(renderStep({ script: ['true'], afterScript: ['echo bye'] }).afterScript).toContain('echo bye\n');
  });
});
