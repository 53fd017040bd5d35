// The typed model built from valid files: every documented form of every key.
import { describe, expect, it } from 'vitest';
import { type Parallel, type Stage, type Step, stepsOf } from '../../../statemachine/language/index';
import { valid, yaml } from './helpers';

const only = (text: string): Step => {
  const file = valid(text);
  const first = file.pipelines[0]?.items[0];
  if (first?.kind !== 'step') throw new Error('expected a step');
  return first;
};

describe('the model', () => {
  it('reads the top level: image (string and object), clone, options, definitions', () => {
    const file = valid(yaml`
      image:
        name: 123.dkr.ecr.eu-west-1.amazonaws.com/build:1.0
        aws:
          oidc-role: arn:aws:iam::123:role/pull
        run-as-user: 1000
      clone:
        depth: full
        lfs: true
        skip-ssl-verify: true
      options:
        max-time: 30
        size: 2x
      definitions:
        caches:
          gradle-wrapper: ~/.gradle/wrapper
          node-keyed:
            key:
              files: [package-lock.json]
            path: node_modules
        services:
          postgres:
            image: postgres:16
            memory: 2048
            variables:
              POSTGRES_PASSWORD: secret
          mysql:
            image: mysql
            environment:
              MYSQL_ROOT_PASSWORD: root
      pipelines:
        default:
          - step:
              image: node:20
              script: [npm ci]
    `);
    expect(file.image).toEqual({
      name: '123.dkr.ecr.eu-west-1.amazonaws.com/build:1.0',
      aws: { oidcRole: 'arn:aws:iam::123:role/pull' },
      runAsUser: 1000,
      at: { line: 2, column: 3 },
    });
    expect(file.clone).toEqual({ depth: 'full', lfs: true, skipSslVerify: true, at: { line: 6, column: 1 } });
    expect(file.options).toEqual({ maxTime: 30, size: '2x', at: { line: 10, column: 1 } });
    expect(file.definitions.caches).toEqual([
      { name: 'gradle-wrapper', path: '~/.gradle/wrapper', at: { line: 15, column: 5 } },
      {
        name: 'node-keyed',
        path: 'node_modules',
        keyFiles: ['package-lock.json'],
        at: { line: 16, column: 5 },
      },
    ]);
    expect(file.definitions.services.map((s) => [s.name, s.image?.name, s.memory, s.variables])).toEqual([
      ['postgres', 'postgres:16', 2048, { POSTGRES_PASSWORD: 'secret' }],
      ['mysql', 'mysql', undefined, { MYSQL_ROOT_PASSWORD: 'root' }],
    ]);
    expect((file.pipelines[0]?.items[0] as Step | undefined)?.image).toEqual({
      name: 'node:20',
      at: { line: 33, column: 16 },
    });
  });

  it('reads every step key', () => {
    const step = only(yaml`
      definitions:
        services:
          redis: {image: redis}
      pipelines:
        branches:
          main:
            - step:
                name: Build and test
                image: {name: node:20, username: $USER, password: $PASS, email: me@example.com}
                size: 4x
                max-time: 45
                caches: [node, gradle]
                services: [redis]
                clone:
                  enabled: false
                deployment: test
                environment: test
                concurrency-group: test-env
                condition:
                  changesets:
                    includePaths: [src/**]
                    excludePaths: [docs/**]
                fail-fast: true
                on-fail:
                  strategy: retry
                  maxRetryCount: 3
                output-variables: [VERSION]
                artifacts:
                  download: [build]
                  paths: [dist/**]
                  upload:
                    - name: reports
                      type: scoped
                      paths: [reports/**]
                      depth: 2
                      ignore-paths: [reports/tmp/**]
                script:
                  - npm ci
                  - pipe: atlassian/slack-notify:2.0.0
                    variables:
                      WEBHOOK_URL: $SLACK
                      TAGS: [a, b]
                after-script:
                  - echo "exit $BITBUCKET_EXIT_CODE"
    `);
    expect(step).toMatchObject({
      kind: 'step',
      name: 'Build and test',
      image: { name: 'node:20', username: '$USER', password: '$PASS', email: 'me@example.com' },
      size: '4x',
      maxTime: 45,
      caches: ['node', 'gradle'],
      services: ['redis'],
      clone: { enabled: false },
      deployment: 'test',
      environment: 'test',
      concurrencyGroup: 'test-env',
      trigger: 'automatic',
      condition: { includePaths: ['src/**'], excludePaths: ['docs/**'] },
      failFast: true,
      onFail: { strategy: 'retry', maxRetryCount: 3 },
      outputVariables: ['VERSION'],
      runsOn: [],
      artifacts: {
        paths: ['dist/**'],
        download: ['build'],
        upload: [
          {
            name: 'reports',
            type: 'scoped',
            paths: ['reports/**'],
            depth: 2,
            ignorePaths: ['reports/tmp/**'],
          },
        ],
      },
      script: [
        { kind: 'command', text: 'npm ci', at: { line: 38, column: 15 } },
        {
          kind: 'pipe',
          pipe: 'atlassian/slack-notify:2.0.0',
          variables: { WEBHOOK_URL: '$SLACK', TAGS: ['a', 'b'] },
        },
      ],
      afterScript: [{ kind: 'command', text: 'echo "exit $BITBUCKET_EXIT_CODE"' }],
      at: { line: 7, column: 9 },
    });
  });

  it('reads artifacts as a plain list (download all by default) or with download: false', () => {
    const list = only(
      'pipelines:\n  default:\n    - step:\n        artifacts: [dist/**]\n        script: [make]\n',
    );
    expect(list.artifacts).toMatchObject({ paths: ['dist/**'], download: true, upload: [] });
    const none = only(
      'pipelines:\n  default:\n    - step:\n        artifacts:\n          download: false\n        script: [make]\n',
    );
    expect(none.artifacts).toMatchObject({ paths: [], download: false, upload: [] });
  });

  it('reads `concurrency: {group}` as a concurrency group, and runs-on as a label list', () => {
    const step = only(
      'pipelines:\n  default:\n    - step:\n        concurrency:\n          group: prod\n        runs-on: self.hosted\n        oidc: true\n        script: [make]\n',
    );
    expect(step).toMatchObject({ concurrencyGroup: 'prod', runsOn: ['self.hosted'], oidc: true });
  });

  it('reads parallel groups in both forms, stages and the final step', () => {
    const file = valid(yaml`
      pipelines:
        default:
          - parallel:
              - step: {name: a, script: [a]}
              - step: {name: b, script: [b]}
          - parallel:
              fail-fast: true
              steps:
                - step: {name: c, script: [c]}
          - stage:
              name: Deploy
              deployment: production
              trigger: manual
              condition:
                changesets:
                  includePaths: [infra/**]
              steps:
                - step: {name: plan, script: [plan]}
                - step: {name: apply, script: [apply]}
          - final:
              name: Clean up
              script: [cleanup]
    `);
    const [first, second, stage, final] = file.pipelines[0]?.items ?? [];
    expect(first).toMatchObject({ kind: 'parallel', failFast: false, at: { line: 3, column: 7 } });
    expect((first as Parallel).steps.map((s) => s.name)).toEqual(['a', 'b']);
    expect(second).toMatchObject({ kind: 'parallel', failFast: true });
    expect(stage).toMatchObject({
      kind: 'stage',
      name: 'Deploy',
      deployment: 'production',
      trigger: 'manual',
      condition: { includePaths: ['infra/**'], excludePaths: [] },
    });
    expect((stage as Stage).steps.map((s) => s.name)).toEqual(['plan', 'apply']);
    expect(final).toMatchObject({ kind: 'final', name: 'Clean up', trigger: 'automatic' });
    expect(stepsOf(file.pipelines[0]?.items ?? []).map((s) => s.name)).toEqual([
      'a',
      'b',
      'c',
      'plan',
      'apply',
      'Clean up',
    ]);
  });

  it('reads every selector, in the order written, with custom variables', () => {
    const file = valid(yaml`
      pipelines:
        tags:
          'v*':
            - step: {script: [release]}
        default:
          - step: {script: [make]}
        branches:
          '{main,develop}':
            - step: {script: [make]}
        bookmarks:
          stable:
            - step: {script: [make]}
        pull-requests:
          '**':
            - step: {script: [test]}
          feature/*:
            destinations:
              main:
                - step: {script: [test]}
        custom:
          deploy:
            - variables:
                - name: ENVIRONMENT
                  default: staging
                  allowed-values: [staging, production]
                  description: Where to deploy
                - name: VERSION
            - step: {script: [deploy]}
    `);
    expect(file.pipelines.map((p) => p.key)).toEqual([
      'tags:v*',
      'default',
      'branches:{main,develop}',
      'bookmarks:stable',
      'pull-requests:**',
      'pull-requests:feature/*:main',
      'custom:deploy',
    ]);
    expect(file.pipelines[5]?.selector).toEqual({
      kind: 'pull-requests',
      pattern: 'feature/*',
      destination: 'main',
    });
    expect(file.pipelines[6]?.variables).toEqual([
      {
        name: 'ENVIRONMENT',
        default: 'staging',
        allowedValues: ['staging', 'production'],
        description: 'Where to deploy',
        at: { line: 23, column: 13 },
      },
      { name: 'VERSION', at: { line: 27, column: 13 } },
    ]);
    expect(file.pipelines[6]?.items).toHaveLength(1);
  });

  it('expands anchors, aliases and merge keys as Bitbucket does (explicit keys win)', () => {
    const file = valid(yaml`
      definitions:
        steps:
          - step: &build
              name: Build
              caches: [node]
              script:
                - npm ci
      pipelines:
        branches:
          main:
            - step: *build
          develop:
            - step:
                <<: *build
                name: Build (develop)
                deployment: test
    `);
    const [main, develop] = file.pipelines.map((p) => p.items[0] as Step);
    expect(main).toMatchObject({ name: 'Build', caches: ['node'], script: [{ text: 'npm ci' }] });
    expect(main?.at).toEqual({ line: 11, column: 9 });
    expect(develop).toMatchObject({ name: 'Build (develop)', caches: ['node'], deployment: 'test' });
    // Merged keys point at the anchor's text, where they are written.
    expect(develop?.script[0]?.at).toEqual({ line: 7, column: 13 });
  });

  it('keeps scalars as written where YAML 1.1 would read numbers or booleans', () => {
    const file = valid(yaml`
      pipelines:
        branches:
          1.10:
            - step:
                name: 1.10
                deployment: on
                script:
                  - 1.10
                  - yes
                  - 2024-01-01
    `);
    const step = file.pipelines[0]?.items[0] as Step;
    expect(file.pipelines[0]?.key).toBe('branches:1.10');
    expect(step.name).toBe('1.10');
    expect(step.deployment).toBe('on');
    expect(step.script.map((s) => (s.kind === 'command' ? s.text : s.pipe))).toEqual([
      '1.10',
      'yes',
      '2024-01-01',
    ]);
  });

  it('treats an empty optional key as not set, as Bitbucket does', () => {
    const step = only(
      'pipelines:\n  default:\n    - step:\n        deployment:\n        name:\n        script: [make]\n',
    );
    expect(step.deployment).toBeUndefined();
    expect(step.name).toBeUndefined();
  });

  it('reads a child pipeline step and an imported pipeline without running them', () => {
    const file = valid(yaml`
      pipelines:
        default:
          - step:
              type: pipeline
              custom: build-all
              input-variables:
                TARGET: prod
        custom:
          build-all:
            - step: {script: [make]}
          shared:
            import: tooling:main:shared-build
    `);
    expect(file.pipelines[0]?.items[0]).toMatchObject({
      child: { custom: 'build-all', inputVariables: { TARGET: 'prod' } },
      script: [],
    });
    expect(file.pipelines[2]).toMatchObject({
      key: 'custom:shared',
      items: [],
      importFrom: 'tooling:main:shared-build',
    });
  });

  it('keeps shared pipelines (definitions.pipelines) apart from the pipelines that triggers select', () => {
    const file = valid(yaml`
      export: true
      definitions:
        pipelines:
          shared-build:
            - step: {script: [make]}
      pipelines:
        default:
          - step: {script: [make]}
    `);
    expect(file.pipelines.map((p) => p.key)).toEqual(['default']);
    expect(file.sharedPipelines?.map((p) => p.key)).toEqual(['shared:shared-build']);
  });
});
