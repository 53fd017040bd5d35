// Which pipeline a trigger runs. The precedence is Bitbucket's, as written in the README.
import { describe, expect, it } from 'vitest';
import {
  findPipeline,
  type PipelineFile,
  selectPipeline,
  type TriggerEvent,
} from '../../../statemachine/language/index';
import { valid, yaml } from './helpers';

const file = valid(yaml`
  pipelines:
    default:
      - step: {script: [default]}
    branches:
      '*':
        - step: {script: [star]}
      '**':
        - step: {script: [globstar]}
      main:
        - step: {script: [main]}
      feature/*:
        - step: {script: [feature]}
      feature/bb-*:
        - step: {script: [bb]}
      feature/bb-123-*:
        - step: {script: [bb-123]}
      '{release/*,hotfix/*}':
        - step: {script: [release-or-hotfix]}
      release/2.0:
        - step: {script: [release-2.0]}
    tags:
      'v*':
        - step: {script: [v]}
      'v1.*':
        - step: {script: [v1]}
    bookmarks:
      stable:
        - step: {script: [stable]}
    pull-requests:
      '**':
        - step: {script: [any-pr]}
      feature/*:
        - step: {script: [feature-pr]}
      hotfix/*:
        destinations:
          main:
            - step: {script: [hotfix-into-main]}
          'release/*':
            - step: {script: [hotfix-into-release]}
    custom:
      deploy:
        - variables:
            - name: ENVIRONMENT
              default: staging
              allowed-values: [staging, production]
            - name: VERSION
        - step: {script: [deploy]}
      imported:
        import: tools:main:build
`);

const key = (trigger: TriggerEvent, source: PipelineFile = file): string | null =>
  selectPipeline(source, trigger).pipeline?.key ?? null;

describe('selecting a pipeline', () => {
  it.each([
    ['main', 'branches:main'],
    ['develop', 'branches:*'],
    ['feature/login', 'branches:feature/*'],
    ['feature/bb-7', 'branches:feature/bb-*'],
    ['feature/bb-123-fix-links', 'branches:feature/bb-123-*'],
    ['feature/a/b', 'branches:**'],
    ['release/1.0', 'branches:{release/*,hotfix/*}'],
    ['release/2.0', 'branches:release/2.0'],
    ['hotfix/x', 'branches:{release/*,hotfix/*}'],
  ])('a push to %s runs %s', (branch, expected) => {
    expect(key({ kind: 'branch', branch })).toBe(expected);
  });

  it('says why: an exact name, or the most specific of several matches', () => {
    expect(selectPipeline(file, { kind: 'branch', branch: 'main' }).reason).toBe(
      'branch `main` is named exactly by `branches:main` (the most specific of 3 matching patterns)',
    );
    expect(selectPipeline(file, { kind: 'branch', branch: 'feature/bb-123-x' }).reason).toBe(
      'branch `feature/bb-123-x` matches `branches:feature/bb-123-*` (the most specific of 4 matching patterns)',
    );
  });

  it('runs default for a push no branch pattern matches, with the reason', () => {
    const narrow = valid(
      'pipelines:\n  default:\n    - step: {script: [d]}\n  branches:\n    main:\n      - step: {script: [m]}\n',
    );
    const selection = selectPipeline(narrow, { kind: 'branch', branch: 'feature/x' });
    expect(selection.pipeline?.key).toBe('default');
    expect(selection.reason).toBe('no branch pattern matches `feature/x`, so the default pipeline runs');
  });

  it('runs nothing for a push that matches nothing when there is no default', () => {
    const noDefault = valid('pipelines:\n  branches:\n    main:\n      - step: {script: [m]}\n');
    expect(selectPipeline(noDefault, { kind: 'branch', branch: 'dev' })).toEqual({
      pipeline: null,
      reason: 'no branch pattern matches `dev` and there is no default pipeline',
    });
  });

  it('never runs default for a tag', () => {
    const onlyDefault = valid('pipelines:\n  default:\n    - step: {script: [d]}\n');
    expect(selectPipeline(onlyDefault, { kind: 'tag', tag: 'v1.0.0' })).toEqual({
      pipeline: null,
      reason: 'no tag pattern matches `v1.0.0` (the default pipeline never runs for tags)',
    });
  });

  it('matches tags by the most specific pattern', () => {
    expect(key({ kind: 'tag', tag: 'v1.2.3' })).toBe('tags:v1.*');
    expect(key({ kind: 'tag', tag: 'v2.0.0' })).toBe('tags:v*');
  });

  it('matches bookmarks, and falls back to default for other bookmarks', () => {
    expect(key({ kind: 'bookmark', bookmark: 'stable' })).toBe('bookmarks:stable');
    expect(key({ kind: 'bookmark', bookmark: 'other' })).toBe('default');
  });

  it('matches pull requests by source branch, and by destination under `destinations:`', () => {
    expect(key({ kind: 'pull-request', source: 'feature/x', destination: 'main' })).toBe(
      'pull-requests:feature/*',
    );
    expect(key({ kind: 'pull-request', source: 'bugfix/x', destination: 'main' })).toBe('pull-requests:**');
    expect(key({ kind: 'pull-request', source: 'hotfix/x', destination: 'main' })).toBe(
      'pull-requests:hotfix/*:main',
    );
    expect(key({ kind: 'pull-request', source: 'hotfix/x', destination: 'release/3' })).toBe(
      'pull-requests:hotfix/*:release/*',
    );
    // No destination pattern matches: the generic source pattern serves it.
    expect(key({ kind: 'pull-request', source: 'hotfix/x', destination: 'develop' })).toBe(
      'pull-requests:**',
    );
    expect(key({ kind: 'pull-request', source: 'hotfix/x' })).toBe('pull-requests:**');
  });

  it('runs nothing for a pull request when no pull-requests pattern matches (default is for pushes)', () => {
    const onlyDefault = valid('pipelines:\n  default:\n    - step: {script: [d]}\n');
    expect(selectPipeline(onlyDefault, { kind: 'pull-request', source: 'a', destination: 'b' })).toEqual({
      pipeline: null,
      reason: 'no pull-requests pattern matches the pull request from `a` to `b`',
    });
  });

  it.each([
    '[skip ci]',
    '[ci skip]',
    '[Skip CI]',
  ])('starts nothing when the message contains %s', (marker) => {
    for (const trigger of [
      { kind: 'branch', branch: 'main' },
      { kind: 'tag', tag: 'v1' },
      { kind: 'pull-request', source: 'feature/x', destination: 'main' },
    ] as const) {
      const selection = selectPipeline(file, { ...trigger, message: `Fix typo ${marker}` });
      expect(selection).toEqual({
        pipeline: null,
        reason: `the commit message contains ${marker}, so no pipeline starts`,
      });
    }
  });

  it('still runs a custom pipeline asked for by name whatever the message says', () => {
    expect(key({ kind: 'custom', name: 'deploy', variables: { VERSION: '1' }, message: '[skip ci]' })).toBe(
      'custom:deploy',
    );
  });

  it('applies the defaults of custom variables', () => {
    const selection = selectPipeline(file, { kind: 'custom', name: 'deploy', variables: { VERSION: '1.2' } });
    expect(selection.pipeline?.key).toBe('custom:deploy');
    expect(selection.pipeline && selection.variables).toEqual({ ENVIRONMENT: 'staging', VERSION: '1.2' });
  });

  it('reports missing, disallowed and undeclared custom variables together', () => {
    const selection = selectPipeline(file, {
      kind: 'custom',
      name: 'deploy',
      variables: { ENVIRONMENT: 'qa', REGION: 'eu' },
    });
    expect(selection).toEqual({
      pipeline: null,
      reason: 'the variables for `custom:deploy` are not valid',
      errors: [
        '`REGION` is not a variable of `custom:deploy`',
        '`ENVIRONMENT` must be one of "staging", "production", not "qa"',
        '`VERSION` is required: it has no default',
      ],
    });
  });

  it('names the custom pipelines there are when the name is unknown', () => {
    expect(selectPipeline(file, { kind: 'custom', name: 'deploy-prod' }).reason).toBe(
      'there is no custom pipeline `deploy-prod` (custom pipelines: deploy, imported)',
    );
  });

  it('does not run an imported pipeline, and says why', () => {
    expect(selectPipeline(file, { kind: 'custom', name: 'imported' })).toEqual({
      pipeline: null,
      reason:
        '`custom:imported` was asked for by name, but it is imported from tools:main:build, which Finale cannot run',
    });
  });

  it('picks the pattern written first when two are equally specific', () => {
    const twins = valid(
      'pipelines:\n  branches:\n    a*:\n      - step: {script: [1]}\n    "*a":\n      - step: {script: [2]}\n',
    );
    expect(key({ kind: 'branch', branch: 'aa' }, twins)).toBe('branches:a*');
  });

  it('finds a pipeline by key', () => {
    expect(findPipeline(file, 'branches:feature/*')?.key).toBe('branches:feature/*');
    expect(findPipeline(file, 'pull-requests:hotfix/*:main')?.selector.destination).toBe('main');
    expect(findPipeline(file, 'branches:nope')).toBeUndefined();
  });
});
