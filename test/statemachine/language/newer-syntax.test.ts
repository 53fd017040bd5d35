// Bitbucket's newer syntax, each rule with the source it follows. Files Bitbucket accepts are valid
// here, and files it refuses are refused at the line and column of the offending key.
import { describe, expect, it } from 'vitest';
import { selectPipeline, triggeredPipelines } from '../../../statemachine/language/index';
import { errors, message, parse, valid, warnings, yaml } from './helpers';

// The schema Bitbucket's editor validates against, as published on 2026-02-21:
// https://api.bitbucket.org/schemas/pipelines-configuration
const SCHEMA = 'https://api.bitbucket.org/schemas/pipelines-configuration';

describe('triggers', () => {
  // Launch post: https://www.atlassian.com/blog/bitbucket/reimagining-how-you-structure-workflows-in-bitbucket-pipelines
  // ("event-driven rules referencing one or more custom pipelines"; operators "&&, ||, (), >, <, <=,
  // >=, ==, != and ! along with comparisons and pattern matching using glob() functions"), and the
  // schema's trigger_configuration: `condition` and `pipelines` are both required.
  const file = valid(yaml`
    pipelines:
      branches:
        main:
          - step: {script: [build main]}
      custom:
        unit-tests:
          - step: {script: [test]}
        lint:
          - step: {script: [lint]}
        deploy:
          - variables:
              - name: TARGET
                default: staging
          - step: {script: [deploy]}
    triggers:
      repository-push:
        - condition: BITBUCKET_BRANCH == "main"
          pipelines: [unit-tests, deploy]
        - condition: glob(BITBUCKET_BRANCH, "feature/*") || BITBUCKET_TAG != ""
          pipelines: [unit-tests]
      pullrequest-push:
        - condition: glob(BITBUCKET_BRANCH, "feature/*") && BITBUCKET_PR_DESTINATION_BRANCH == "main"
          pipelines: [unit-tests, lint]
  `);

  it('reads each event, condition and pipeline list', () => {
    expect(file.triggers.map((t) => [t.event, t.condition, t.pipelines])).toEqual([
      ['repository-push', 'BITBUCKET_BRANCH == "main"', ['unit-tests', 'deploy']],
      ['repository-push', 'glob(BITBUCKET_BRANCH, "feature/*") || BITBUCKET_TAG != ""', ['unit-tests']],
      [
        'pullrequest-push',
        'glob(BITBUCKET_BRANCH, "feature/*") && BITBUCKET_PR_DESTINATION_BRANCH == "main"',
        ['unit-tests', 'lint'],
      ],
    ]);
  });

  it('starts every custom pipeline whose trigger holds, once each, with its variables defaulted', () => {
    const push = triggeredPipelines(file, { kind: 'branch', branch: 'main' });
    expect(push.map((s) => s.pipeline?.key)).toEqual(['custom:unit-tests', 'custom:deploy']);
    expect(push[1]).toMatchObject({ variables: { TARGET: 'staging' } });
    expect(push[0]?.reason).toBe(
      'the `repository-push` trigger\'s condition `BITBUCKET_BRANCH == "main"` holds',
    );
    // The selectors still choose their own pipeline for the same push.
    expect(selectPipeline(file, { kind: 'branch', branch: 'main' }).pipeline?.key).toBe('branches:main');

    expect(
      triggeredPipelines(file, { kind: 'branch', branch: 'feature/x' }).map((s) => s.pipeline?.key),
    ).toEqual(['custom:unit-tests']);
    expect(triggeredPipelines(file, { kind: 'tag', tag: 'v1' }).map((s) => s.pipeline?.key)).toEqual([
      'custom:unit-tests',
    ]);
    expect(triggeredPipelines(file, { kind: 'branch', branch: 'develop' })).toEqual([]);
    expect(triggeredPipelines(file, { kind: 'branch', branch: 'main', message: 'wip [skip ci]' })).toEqual(
      [],
    );
  });

  it('fires pullrequest-push for new commits on a pull request, not for opening it', () => {
    const updated = triggeredPipelines(file, {
      kind: 'pull-request',
      source: 'feature/x',
      destination: 'main',
      action: 'updated',
    });
    expect(updated.map((s) => s.pipeline?.key)).toEqual(['custom:unit-tests', 'custom:lint']);
    const opened = triggeredPipelines(file, {
      kind: 'pull-request',
      source: 'feature/x',
      destination: 'main',
    });
    expect(opened).toEqual([]);
  });

  it('refuses a trigger that names no custom pipeline, at the name', () => {
    const result = parse(yaml`
      pipelines:
        custom:
          unit-tests:
            - step: {script: [test]}
      triggers:
        repository-push:
          - condition: BITBUCKET_BRANCH == "main"
            pipelines: [unit-test]
    `);
    expect(errors(result)).toEqual(['trigger-pipeline-unknown@8:19']);
    expect(message(result, 'trigger-pipeline-unknown')).toContain('did you mean `unit-tests`?');
  });

  it('refuses conditions outside Bitbucket’s operators, and a missing condition or pipeline list', () => {
    const result = parse(yaml`
      pipelines:
        custom:
          t:
            - step: {script: [test]}
      triggers:
        repository-push:
          - condition: BITBUCKET_BRANCH + "x" == "main"
            pipelines: [t]
          - condition: BITBUCKET_BRANCH
            pipelines: [t]
          - condition: glob(BITBUCKET_BRANCH)
            pipelines: [t]
          - condition: (BITBUCKET_BRANCH == "main"
            pipelines: [t]
          - pipelines: [t]
          - condition: BITBUCKET_BRANCH == "main"
    `);
    expect(errors(result)).toEqual([
      'trigger-condition@7:18',
      'trigger-condition@9:18',
      'trigger-condition@11:18',
      'trigger-condition@13:18',
      'missing-key@15:7',
      'missing-key@16:7',
    ]);
    expect(message(result, 'trigger-condition')).toContain(
      '`+` at character 18 is not part of a trigger condition',
    );
  });

  it('warns of events Finale does not fire, and of names Bitbucket does not document', () => {
    const result = parse(yaml`
      pipelines:
        custom:
          t:
            - step: {script: [test]}
      triggers:
        pipeline-completed:
          - condition: BITBUCKET_TRIGGER_PIPELINE_STATUS == "FAILED"
            pipelines: [t]
        repository-pushed:
          - condition: BITBUCKET_BRANCH == "main"
            pipelines: [t]
    `);
    expect(result.ok).toBe(true);
    expect(warnings(result)).toEqual(['unsupported-trigger-event@6:3', 'unknown-trigger-event@9:3']);
    expect(message(result, 'unknown-trigger-event')).toContain('did you mean `repository-push`?');
  });
});

describe('definitions.imports and import: pipeline@source', () => {
  // https://support.atlassian.com/bitbucket-cloud/docs/share-pipelines-configurations/: "declare a
  // name and slug for your Import Source under definitions: imports … specify the import property in
  // your pipeline, referencing the pipeline name and the name of the import source"; the schema's
  // import_source_pipeline: "{pipeline-name}@{import-source-name}", and import_source:
  // "{file-path} or {repo-slug}:{tag-name|branch-name} or {repo-slug}:{tag-name|branch-name}:{file-path}".
  it('reads the import sources and both forms of `import`', () => {
    const file = valid(yaml`
      definitions:
        imports:
          shared-pipelines: .bitbucket/shared-pipelines.yml
          central: shared-pipelines-repo:main
      pipelines:
        custom:
          import-pipeline:
            import: share-pipeline-1@shared-pipelines
          older:
            import: shared-pipeline:master:share-pipeline-1
        branches:
          main:
            import: nodejs-build-and-test@central
    `);
    expect(file.definitions.imports.map((i) => [i.name, i.source])).toEqual([
      ['shared-pipelines', '.bitbucket/shared-pipelines.yml'],
      ['central', 'shared-pipelines-repo:main'],
    ]);
    expect(file.pipelines.map((p) => [p.key, p.importFrom])).toEqual([
      ['custom:import-pipeline', 'share-pipeline-1@shared-pipelines'],
      ['custom:older', 'shared-pipeline:master:share-pipeline-1'],
      ['branches:main', 'nodejs-build-and-test@central'],
    ]);
  });

  it('refuses an import source that is not declared, and malformed sources and references', () => {
    const result = parse(yaml`
      definitions:
        imports:
          bad: a:b:c:d
      pipelines:
        custom:
          one:
            import: build@elsewhere
          two:
            import: build@a@b
    `);
    expect(errors(result)).toEqual([
      'import-source-format@3:10',
      'import-source-unknown@6:5',
      'import-format@9:15',
    ]);
  });
});

describe('a child pipeline step shares artifacts by name', () => {
  // https://www.atlassian.com/blog/bitbucket/share-artifacts-between-parent-and-child-pipelines: "you
  // now have the option to specify an artifacts section with a list of upload and/or download
  // artifact names".
  const CHILD = yaml`
    pipelines:
      custom:
        child:
          - step: {script: [update], artifacts: [bottle.log]}
        parent:
          - step: {script: [create], artifacts: [bottle.log]}
          - step:
              name: Call the child
              type: pipeline
              custom: child
              artifacts:
                upload:
                  - bottle.log
                download:
                  - bottle.log
  `;

  it('reads the names it uploads to the child and downloads from it', () => {
    const step = valid(CHILD).pipelines[1]?.items[1];
    expect(step).toMatchObject({
      child: { custom: 'child', artifacts: { upload: ['bottle.log'], download: ['bottle.log'] } },
    });
    expect(step && 'artifacts' in step ? step.artifacts : undefined).toBeUndefined();
  });

  it('refuses paths on a child step, and names alone on any other step', () => {
    const child = parse(CHILD.replace(/upload:\n\s+- bottle.log/, 'paths: [dist/**]'));
    expect(errors(child)).toEqual(['child-pipeline-artifacts@11:11']);
    const plain = parse(
      'pipelines:\n  default:\n    - step:\n        script: [make]\n        artifacts:\n          upload: [bottle.log]\n',
    );
    expect(errors(plain)).toEqual(['artifact-upload-paths@5:9']);
  });
});

describe('image.aws', () => {
  // The schema's image_aws_auth: `aws` is oneOf {access-key, secret-key} (both required) or {oidc-role}.
  const image = (aws: string) =>
    `image:\n  name: 123.dkr.ecr.eu-west-1.amazonaws.com/build\n  aws:\n${aws}\npipelines:\n  default:\n    - step:\n        script: [make]\n`;

  it(`takes access-key with secret-key, or oidc-role alone (${SCHEMA})`, () => {
    expect(valid(image('    access-key: $KEY\n    secret-key: $SECRET')).image?.aws).toEqual({
      accessKey: '$KEY',
      secretKey: '$SECRET',
    });
    expect(valid(image('    oidc-role: arn:aws:iam::123:role/pull')).image?.aws).toEqual({
      oidcRole: 'arn:aws:iam::123:role/pull',
    });
  });

  it('refuses one key without the other, both forms at once, and neither', () => {
    for (const aws of [
      '    access-key: $KEY',
      '    secret-key: $SECRET',
      '    access-key: $KEY\n    secret-key: $SECRET\n    oidc-role: arn:aws:iam::123:role/pull',
      '    oidc-role: arn:aws:iam::123:role/pull\n    access-key: $KEY',
    ]) {
      expect(errors(parse(image(aws)))).toEqual(['image-aws-credentials@3:3']);
    }
  });
});

describe('custom pipeline variables', () => {
  // The schema declares `variables` only in custom pipelines (custom_pipeline: items_with_variables),
  // and every example Bitbucket publishes declares them before the steps:
  // https://bitbucket.org/blog/predefine-values-of-custom-pipeline-variables,
  // https://bitbucket.org/blog/introducing-default-values-for-custom-pipeline-variables.
  it('must come first', () => {
    const result = parse(yaml`
      pipelines:
        custom:
          deploy:
            - step: {script: [deploy]}
            - variables:
                - name: TARGET
    `);
    expect(errors(result)).toEqual(['variables-not-first@5:9']);
  });

  // Neither source makes `default` required: the first post says "optionally restrict variable
  // values", the second "optionally provide a default value", and the schema requires only `name`.
  it('may have allowed-values without a default; a default must be one of them', () => {
    const file = valid(yaml`
      pipelines:
        custom:
          deploy:
            - variables:
                - name: Environment
                  allowed-values: [dev, staging, production]
            - step: {script: [deploy]}
    `);
    expect(file.pipelines[0]?.variables).toMatchObject([
      { name: 'Environment', allowedValues: ['dev', 'staging', 'production'] },
    ]);
    expect(selectPipeline(file, { kind: 'custom', name: 'deploy' })).toMatchObject({
      pipeline: null,
      errors: ['`Environment` is required: it has no default'],
    });
  });
});
