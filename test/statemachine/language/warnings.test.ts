// Keys Finale reads but does not carry out: each is a warning that says what Finale does instead,
// and the file stays valid.
import { describe, expect, it } from 'vitest';
import { message, parse, warnings } from './helpers';

const step = (body: string) => `pipelines:\n  default:\n    - step:\n${body}\n          script: [make]\n`;

const CASES = [
  {
    code: 'unsupported-pipe',
    text: 'pipelines:\n  default:\n    - step:\n        script:\n          - pipe: atlassian/slack-notify:2.0.0\n',
    at: '5:13',
    says: /runs as `docker run` of its image/,
  },
  {
    code: 'unsupported-service',
    text: step('          services: [docker]'),
    at: '4:22',
    says: /does not start a Docker service/,
  },
  {
    code: 'unsupported-caches',
    text: step('          caches: [node]'),
    at: '4:11',
    says: /does not keep caches between runs/,
  },
  {
    code: 'unsupported-runs-on',
    text: step('          runs-on: [self.hosted, linux]'),
    at: '4:11',
    says: /self\.hosted, linux is ignored/,
  },
  {
    code: 'unsupported-oidc',
    text: step('          oidc: true'),
    at: '4:11',
    says: /BITBUCKET_STEP_OIDC_TOKEN is not set/,
  },
  {
    code: 'unsupported-runtime',
    text: step('          runtime:\n            cloud:\n              arch: arm'),
    at: '4:11',
    says: /ignores `runtime`/,
  },
  {
    code: 'unsupported-clone-option',
    text: step('          clone:\n            sparse-checkout:\n              patterns: [src]'),
    at: '5:13',
    says: /ignores clone `sparse-checkout`/,
  },
  {
    code: 'unsupported-condition-state',
    text: step('          condition:\n            state: DEPLOY == "yes"'),
    at: '5:13',
    says: /runs as if the condition were true/,
  },
  {
    code: 'unsupported-docker',
    text: 'options:\n  docker: true\npipelines:\n  default:\n    - step:\n        script: [make]\n',
    at: '2:3',
    says: /no Docker daemon/,
  },
  {
    code: 'unsupported-labels',
    text: 'labels:\n  team: build\npipelines:\n  default:\n    - step:\n        script: [make]\n',
    at: '1:1',
    says: /ignores `labels`/,
  },
  {
    code: 'child-pipeline',
    text: 'pipelines:\n  default:\n    - step:\n        type: pipeline\n        custom: all\n  custom:\n    all:\n      - step:\n          script: [make]\n',
    at: '4:9',
    says: /fails instead of starting custom:all/,
  },
  {
    code: 'imported-pipeline',
    text: 'pipelines:\n  custom:\n    shared:\n      import: tools:main:build\n',
    at: '3:5',
    says: /\(tools:main:build\) never runs/,
  },
  {
    code: 'shared-pipelines',
    text: 'export: true\ndefinitions:\n  pipelines:\n    build:\n      - step:\n          script: [make]\npipelines:\n  default:\n    - step:\n        script: [make]\n',
    at: '3:3',
    says: /never runs them/,
  },
  {
    code: 'anchors-only-key',
    text: 'shared: &s\n  - make\npipelines:\n  default:\n    - step:\n        script: *s\n',
    at: '1:1',
    says: /only holds YAML anchors/,
  },
  {
    code: 'unknown-definition',
    text: 'definitions:\n  docker:\n    memory: 4096\npipelines:\n  default:\n    - step:\n        script: [make]\n',
    at: '2:3',
    says: /is set under `definitions.services.docker`/,
  },
  {
    code: 'undefined-cache',
    text: step('          caches: [node, .cache]'),
    at: '4:26',
    says: /neither predefined nor defined/,
  },
  {
    code: 'yaml-warning',
    text: 'pipelines:\n  default:\n    - step:\n        name: !custom Build\n        script: [make]\n',
    at: '4:15',
    says: /reads the value as text/,
  },
];

describe('keys Finale does not carry out', () => {
  it.each(CASES)('$code: a warning at its line and column, and the file is valid', ({
    code,
    text,
    at,
    says,
  }) => {
    const result = parse(text);
    expect(result.ok).toBe(true);
    expect(warnings(result)).toContain(`${code}@${at}`);
    expect(message(result, code)).toMatch(says);
  });

  it('lists a warning repeated word for word once, naming the other places', () => {
    const pipe = '          - pipe: atlassian/slack-notify:2.0.0\n';
    const result = parse(`pipelines:\n  default:\n    - step:\n        script:\n${pipe}${pipe}${pipe}`);
    expect(warnings(result)).toEqual(['unsupported-pipe@5:13']);
    expect(message(result, 'unsupported-pipe')).toMatch(/\(also at 6:13, 7:13\)$/);
  });

  it('says once per file that caches are not kept, wherever steps use them', () => {
    const cached = '    - step:\n        caches: [node]\n        script: [make]\n';
    const result = parse(`pipelines:\n  default:\n${cached}${cached}`);
    expect(warnings(result)).toEqual(['unsupported-caches@4:9']);
    expect(message(result, 'unsupported-caches')).toMatch(/\(also at 7:9\)$/);
  });

  it('does not warn about `definitions.steps`, where Bitbucket documents step anchors', () => {
    const result = parse(
      'definitions:\n  steps:\n    - step: &b\n        script: [make]\npipelines:\n  default:\n    - step: *b\n',
    );
    expect(result.diagnostics).toEqual([]);
  });
});

describe('messages', () => {
  it.each([
    ['scirpt', 'script'],
    ['after_script', 'after-script'],
    ['max_time', 'max-time'],
    ['deploymnet', 'deployment'],
    ['cache', 'caches'],
  ])('suggests the nearest key for %s', (typo, expected) => {
    const result = parse(step(`          ${typo}: x`));
    expect(message(result, 'unknown-key')).toContain(`did you mean \`${expected}\`?`);
  });

  it('lists the valid keys when nothing is close', () => {
    const result = parse(
      'pipelines:\n  default:\n    - step:\n        script: [make]\n        clone:\n          zzz: 1\n',
    );
    expect(message(result, 'unknown-key')).toBe(
      'unknown key `zzz` in a clone; expected one of enabled, depth, lfs, skip-ssl-verify, filter, sparse-checkout, strategy, tags',
    );
  });

  it('explains a step whose keys are not indented under it', () => {
    const result = parse('pipelines:\n  default:\n    - step:\n      script: [make]\n');
    expect(message(result, 'empty-step')).toBe(
      '`step` is empty: its keys (name, script, …) must be indented further than `step:`',
    );
    expect(message(result, 'misplaced-step-key')).toContain('indent it under `step:`');
  });

  it('explains a script written as a single string', () => {
    const result = parse(step('          after-script: echo done'));
    expect(message(result, 'invalid-type')).toBe(
      '`after-script` must be a list, not the text "echo done"; write each command on its own line starting with `- `',
    );
  });
});
