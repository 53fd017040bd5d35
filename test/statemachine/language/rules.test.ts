// Every validation rule, each with a failing case (the exact code and line:column) and a passing
// case that differs only in the offending part.
import { describe, expect, it } from 'vitest';
import { errors, parse, yaml } from './helpers';

interface Case {
  readonly code: string;
  readonly bad: string;
  /** `line:column` of the error. */
  readonly at: string;
  readonly good: string;
}

// A one-step pipeline; `body` lines are indented 10 spaces, so step keys start at column 11.
const step = (body: string) => `pipelines:\n  default:\n    - step:\n${body}\n`;

const CASES: Case[] = [
  // --- keys and types ---------------------------------------------------------------------------
  {
    code: 'unknown-key',
    bad: step('          scripts: [make]\n          script: [make]'),
    at: '4:11',
    good: step('          script: [make]'),
  },
  {
    code: 'misplaced-step-key',
    bad: yaml`
      pipelines:
        default:
          - step:
            name: Build
            script: [make]
    `,
    at: '4:7',
    good: yaml`
      pipelines:
        default:
          - step:
              name: Build
              script: [make]
    `,
  },
  {
    code: 'empty-step',
    bad: yaml`
      pipelines:
        default:
          - step:
    `,
    at: '3:7',
    good: step('          script: [make]'),
  },
  {
    code: 'missing-key',
    bad: 'image: node\n',
    at: '1:1',
    good: 'image: node\npipelines:\n  default:\n    - step:\n        script: [make]\n',
  },
  {
    code: 'invalid-type',
    bad: step('          script: make build'),
    at: '4:19',
    good: step('          script:\n            - make build'),
  },
  {
    code: 'empty-list',
    bad: step('          script: []'),
    at: '4:19',
    good: step('          script: [make]'),
  },
  {
    code: 'empty-value',
    bad: step('          script:\n            - make\n            -'),
    at: '6:14',
    good: step('          script:\n            - make'),
  },
  {
    code: 'script-required',
    bad: step('          name: Build'),
    at: '3:7',
    good: step('          name: Build\n          script: [make]'),
  },
  {
    code: 'item-kind',
    bad: yaml`
      pipelines:
        default:
          - step:
              script: [make]
            parallel:
              - step:
                  script: [test]
    `,
    at: '3:7',
    good: yaml`
      pipelines:
        default:
          - step:
              script: [make]
          - parallel:
              - step:
                  script: [test]
    `,
  },
  {
    code: 'max-time-range',
    bad: step('          max-time: 721\n          script: [make]'),
    at: '4:21',
    good: step('          max-time: 720\n          script: [make]'),
  },
  {
    code: 'step-size',
    bad: step('          size: 3x\n          script: [make]'),
    at: '4:17',
    good: step('          size: 4x\n          script: [make]'),
  },
  {
    code: 'trigger-value',
    bad: yaml`
      pipelines:
        default:
          - step:
              script: [make]
          - step:
              trigger: later
              script: [deploy]
    `,
    at: '6:18',
    good: yaml`
      pipelines:
        default:
          - step:
              script: [make]
          - step:
              trigger: manual
              script: [deploy]
    `,
  },
  {
    code: 'clone-depth',
    bad: 'clone:\n  depth: all\npipelines:\n  default:\n    - step:\n        script: [make]\n',
    at: '2:10',
    good: 'clone:\n  depth: full\npipelines:\n  default:\n    - step:\n        script: [make]\n',
  },
  {
    code: 'on-fail-strategy',
    bad: step('          on-fail:\n            strategy: skip\n          script: [make]'),
    at: '5:23',
    good: step('          on-fail:\n            strategy: ignore\n          script: [make]'),
  },
  {
    code: 'on-fail-retry-count',
    bad: step(
      '          on-fail:\n            strategy: retry\n            maxRetryCount: 11\n          script: [make]',
    ),
    at: '6:28',
    good: step(
      '          on-fail:\n            strategy: retry\n            maxRetryCount: 10\n          script: [make]',
    ),
  },
  {
    code: 'too-many-services',
    bad: yaml`
      definitions:
        services:
          a: {image: a}
          b: {image: b}
          c: {image: c}
          d: {image: d}
          e: {image: e}
      pipelines:
        default:
          - step:
              services: [a, b, c, d, e, docker]
              script: [make]
    `,
    at: '11:19',
    good: yaml`
      definitions:
        services:
          a: {image: a}
          b: {image: b}
          c: {image: c}
          d: {image: d}
          e: {image: e}
      pipelines:
        default:
          - step:
              services: [a, b, c, d, e]
              script: [make]
    `,
  },
  {
    code: 'runs-on-labels',
    bad: step(
      `          runs-on: [${Array.from({ length: 11 }, (_, i) => `l${i}`).join(', ')}]\n          script: [make]`,
    ),
    at: '4:20',
    good: step(
      `          runs-on: [${Array.from({ length: 10 }, (_, i) => `l${i}`).join(', ')}]\n          script: [make]`,
    ),
  },
  {
    code: 'step-type',
    bad: step('          type: job\n          script: [make]'),
    at: '4:17',
    good: step('          script: [make]'),
  },
  {
    code: 'child-pipeline-custom',
    bad: step('          type: pipeline'),
    at: '3:7',
    good: yaml`
      pipelines:
        default:
          - step:
              type: pipeline
              custom: child
        custom:
          child:
            - step:
                script: [make]
    `,
  },
  {
    code: 'changesets-empty',
    bad: step('          condition:\n            changesets: {}\n          script: [make]'),
    at: '5:13',
    good: step(
      '          condition:\n            changesets:\n              includePaths: [src/**]\n          script: [make]',
    ),
  },
  {
    code: 'condition-empty',
    bad: step('          condition: {}\n          script: [make]'),
    at: '4:11',
    good: step(
      '          condition:\n            changesets:\n              excludePaths: [docs/**]\n          script: [make]',
    ),
  },
  {
    code: 'variable-name',
    bad: yaml`
      pipelines:
        custom:
          deploy:
            - variables:
                - name: 1ENV
            - step:
                script: [make]
    `,
    at: '5:19',
    good: yaml`
      pipelines:
        custom:
          deploy:
            - variables:
                - name: ENV_1
            - step:
                script: [make]
    `,
  },
  {
    code: 'import-format',
    bad: 'pipelines:\n  custom:\n    shared:\n      import: other-repo\n',
    at: '4:15',
    good: 'pipelines:\n  custom:\n    shared:\n      import: other-repo:main:shared\n',
  },
  {
    code: 'service-memory',
    bad: 'definitions:\n  services:\n    db:\n      image: mysql\n      memory: 64\npipelines:\n  default:\n    - step:\n        services: [db]\n        script: [make]\n',
    at: '5:15',
    good: 'definitions:\n  services:\n    db:\n      image: mysql\n      memory: 128\npipelines:\n  default:\n    - step:\n        services: [db]\n        script: [make]\n',
  },
  {
    code: 'no-pipelines',
    bad: 'pipelines: {}\n',
    at: '1:1',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n',
  },
  {
    code: 'misplaced-section',
    bad: 'pipelines:\n  default:\n    - step:\n        script: [make]\nbranches:\n  main:\n    - step:\n        script: [make]\n',
    at: '5:1',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n  branches:\n    main:\n      - step:\n          script: [make]\n',
  },
  {
    code: 'not-a-mapping',
    bad: '- step:\n    script: [make]\n',
    at: '1:1',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n',
  },
  // --- YAML -------------------------------------------------------------------------------------
  {
    code: 'duplicate-key',
    bad: step('          script: [make]\n          script: [test]'),
    at: '5:11',
    good: step('          script: [make, test]'),
  },
  {
    code: 'tab-indentation',
    bad: 'pipelines:\n  default:\n    - step:\n\t\tscript: [make]\n',
    at: '4:1',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n',
  },
  {
    code: 'yaml-syntax',
    bad: 'pipelines:\n  default: x: y\n',
    at: '2:12',
    good: step(`          script:\n            - 'echo "x: y"'`),
  },
  {
    code: 'multiple-documents',
    bad: 'pipelines:\n  default:\n    - step:\n        script: [make]\n---\nmore: 1\n',
    at: '5:1',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n',
  },
  {
    code: 'alias-cycle',
    bad: 'a: &a [*a]\npipelines:\n  default:\n    - step:\n        script: [make]\n',
    at: '1:8',
    good: 'pipelines:\n  default:\n    - step:\n        script: &a [make]\n  custom:\n    again:\n      - step:\n          script: *a\n',
  },
  {
    code: 'yaml-merge',
    bad: step('          <<: make\n          script: [make]'),
    at: '4:15',
    good: 'x: &base {name: Build}\npipelines:\n  default:\n    - step:\n        <<: *base\n        script: [make]\n',
  },
  {
    code: 'complex-key',
    bad: step('          ? [a, b]\n          : c\n          script: [make]'),
    at: '4:13',
    good: step('          script: [make]'),
  },
  {
    code: 'binary-content',
    bad: 'pipelines:\n  default:\u0001\n',
    at: '2:11',
    good: step('          script: [make]'),
  },
  // --- cross-key rules --------------------------------------------------------------------------
  {
    code: 'final-multiple',
    bad: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        script: [a]\n    - final:\n        script: [b]\n',
    at: '7:7',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        script: [a, b]\n',
  },
  {
    code: 'final-not-last',
    bad: 'pipelines:\n  default:\n    - final:\n        script: [clean]\n    - step:\n        script: [make]\n',
    at: '3:7',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        script: [clean]\n',
  },
  {
    code: 'final-only',
    bad: 'pipelines:\n  default:\n    - final:\n        script: [clean]\n',
    at: '3:7',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        script: [clean]\n',
  },
  {
    code: 'final-in-parallel',
    bad: 'pipelines:\n  default:\n    - parallel:\n        - step:\n            script: [make]\n        - final:\n            script: [clean]\n',
    at: '6:11',
    good: 'pipelines:\n  default:\n    - parallel:\n        - step:\n            script: [make]\n    - final:\n        script: [clean]\n',
  },
  {
    code: 'final-in-stage',
    bad: 'pipelines:\n  default:\n    - stage:\n        steps:\n          - step:\n              script: [make]\n          - final:\n              script: [clean]\n',
    at: '7:13',
    good: 'pipelines:\n  default:\n    - stage:\n        steps:\n          - step:\n              script: [make]\n    - final:\n        script: [clean]\n',
  },
  {
    code: 'final-manual',
    bad: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        trigger: manual\n        script: [clean]\n',
    at: '6:9',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        trigger: automatic\n        script: [clean]\n',
  },
  {
    code: 'final-deployment',
    bad: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        deployment: production\n        script: [clean]\n',
    at: '6:9',
    good: 'pipelines:\n  default:\n    - step:\n        deployment: production\n        script: [make]\n    - final:\n        script: [clean]\n',
  },
  {
    code: 'final-fail-fast',
    bad: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        fail-fast: true\n        script: [clean]\n',
    at: '6:9',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        script: [clean]\n',
  },
  {
    code: 'final-child-pipeline',
    bad: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        type: pipeline\n        custom: cleanup\n  custom:\n    cleanup:\n      - step:\n          script: [clean]\n',
    at: '6:9',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - final:\n        script: [clean]\n  custom:\n    cleanup:\n      - step:\n          script: [clean]\n',
  },
  {
    code: 'first-step-manual',
    bad: 'pipelines:\n  default:\n    - step:\n        trigger: manual\n        script: [deploy]\n',
    at: '4:9',
    good: 'pipelines:\n  default:\n    - step:\n        script: [make]\n    - step:\n        trigger: manual\n        script: [deploy]\n',
  },
  {
    code: 'too-many-steps',
    bad: `pipelines:\n  branches:\n    main:\n${'      - step:\n          script: [make]\n'.repeat(95)}      - parallel:\n${'          - step:\n              script: [test]\n'.repeat(6)}`,
    at: '3:5',
    good: `pipelines:\n  branches:\n    main:\n${'      - step:\n          script: [make]\n'.repeat(94)}      - parallel:\n${'          - step:\n              script: [test]\n'.repeat(6)}`,
  },
  {
    code: 'stage-step-condition',
    bad: 'pipelines:\n  default:\n    - stage:\n        steps:\n          - step:\n              condition: {changesets: {includePaths: [src/**]}}\n              script: [make]\n',
    at: '6:15',
    good: 'pipelines:\n  default:\n    - stage:\n        condition: {changesets: {includePaths: [src/**]}}\n        steps:\n          - step:\n              script: [make]\n',
  },
  {
    code: 'stage-step-deployment',
    bad: 'pipelines:\n  default:\n    - stage:\n        deployment: staging\n        steps:\n          - step:\n              deployment: production\n              script: [deploy]\n',
    at: '7:15',
    good: 'pipelines:\n  default:\n    - stage:\n        deployment: staging\n        steps:\n          - step:\n              script: [deploy]\n',
  },
  // Bitbucket: "The deployment environment 'production' in your bitbucket-pipelines.yml file occurs
  // multiple times in the pipeline" (https://bitbucket.org/site/master/issues/18931), parallel steps too.
  {
    code: 'duplicate-deployment',
    bad: 'pipelines:\n  default:\n    - parallel:\n        - step:\n            deployment: production\n            script: [deploy eu]\n        - step:\n            deployment: production\n            script: [deploy us]\n',
    at: '8:13',
    good: 'pipelines:\n  default:\n    - parallel:\n        - step:\n            deployment: production-eu\n            script: [deploy eu]\n        - step:\n            deployment: production-us\n            script: [deploy us]\n',
  },
  {
    code: 'duplicate-deployment',
    bad: 'pipelines:\n  default:\n    - step:\n        deployment: staging\n        script: [deploy]\n    - stage:\n        deployment: staging\n        steps:\n          - step:\n              script: [migrate]\n',
    at: '7:9',
    good: 'pipelines:\n  default:\n    - stage:\n        deployment: staging\n        steps:\n          - step:\n              script: [deploy]\n          - step:\n              script: [migrate]\n',
  },
  {
    code: 'parallel-concurrency-group',
    bad: 'pipelines:\n  default:\n    - parallel:\n        - step:\n            concurrency-group: db\n            script: [migrate a]\n        - step:\n            concurrency-group: db\n            script: [migrate b]\n',
    at: '8:13',
    good: 'pipelines:\n  default:\n    - step:\n        concurrency-group: db\n        script: [migrate a]\n    - step:\n        concurrency-group: db\n        script: [migrate b]\n',
  },
  {
    code: 'undefined-service',
    bad: step('          services: [docker, postgres]\n          script: [make]'),
    at: '4:30',
    good: 'definitions:\n  services:\n    postgres:\n      image: postgres:16\npipelines:\n  default:\n    - step:\n        services: [docker, postgres]\n        script: [make]\n',
  },
  {
    code: 'child-pipeline-unknown',
    bad: step('          type: pipeline\n          custom: missing'),
    at: '5:11',
    good: 'pipelines:\n  default:\n    - step:\n        type: pipeline\n        custom: present\n  custom:\n    present:\n      - step:\n          script: [make]\n',
  },
  {
    code: 'variables-outside-custom',
    bad: 'pipelines:\n  default:\n    - variables:\n        - name: ENV\n    - step:\n        script: [make]\n',
    at: '4:11',
    good: 'pipelines:\n  custom:\n    run:\n      - variables:\n          - name: ENV\n      - step:\n          script: [make]\n',
  },
  {
    code: 'duplicate-variable',
    bad: 'pipelines:\n  custom:\n    run:\n      - variables:\n          - name: ENV\n          - name: ENV\n      - step:\n          script: [make]\n',
    at: '6:13',
    good: 'pipelines:\n  custom:\n    run:\n      - variables:\n          - name: ENV\n          - name: REGION\n      - step:\n          script: [make]\n',
  },
  {
    code: 'variable-default-not-allowed',
    bad: 'pipelines:\n  custom:\n    run:\n      - variables:\n          - name: ENV\n            default: qa\n            allowed-values: [dev, prod]\n      - step:\n          script: [make]\n',
    at: '5:13',
    good: 'pipelines:\n  custom:\n    run:\n      - variables:\n          - name: ENV\n            default: dev\n            allowed-values: [dev, prod]\n      - step:\n          script: [make]\n',
  },
];

describe('validation rules', () => {
  it.each(CASES)('$code: reported at its line and column', ({ code, bad, at }) => {
    const result = parse(bad);
    expect(result.ok).toBe(false);
    expect(errors(result)).toContain(`${code}@${at}`);
  });

  it.each(CASES)('$code: the corrected file is valid', ({ good }) => {
    const result = parse(good);
    expect(errors(result)).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
