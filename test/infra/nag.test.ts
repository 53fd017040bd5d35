// cdk-nag's AwsSolutions pack over the whole stack, with CDK's own CloudFormation validation, as
// `cdk synth` runs them: no finding (error or warning) is left unacknowledged, and each
// acknowledgement says why.

import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { synthFinale } from './synth';

const findings = (scope: IConstruct) =>
  new AwsSolutionsChecks().validateScope(scope).violations.map((violation) => ({
    rule: violation.ruleName,
    severity: violation.severity,
    at: violation.violatingResources.flatMap((resource) => resource.locations ?? []),
  }));

const acknowledgements = (scope: IConstruct) =>
  scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      // { 'Annotation::<rule id>': reason }, beside CDK's own `CloudFormation-Validate::…` entries.
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>))
      .filter(([key]) => key.startsWith('Annotation::AwsSolutions-'))
      .map(([key, reason]) => ({ path: construct.node.path, id: key.replace('Annotation::', ''), reason })),
  );

describe('cdk-nag AwsSolutions', () => {
  it('passes on the default stack, through a full synth with CloudFormation validation', () => {
    const synth = synthFinale(
      {},
      { validateTemplates: true, plugins: [new AwsSolutionsChecks()], bundle: false },
    );
    // synthFinale's Template.fromStack ran app.synth(), plugins included: a finding would have thrown.
    expect(findings(synth.app)).toEqual([]);

    const acks = acknowledgements(synth.app);
    expect(acks.length).toBeGreaterThan(10);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(60);
    }
    // Every rule acknowledged somewhere, each for the reason written next to the resource.
    expect([...new Set(acks.map((ack) => ack.id.replace(/\[.*$/, '')))].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-ECS4',
      'AwsSolutions-IAM5',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
    // The open route is the webhook's only: the runs API routes are IAM-authorized, nothing to acknowledge.
    expect(acks.filter((ack) => ack.id === 'AwsSolutions-APIG4').map((ack) => ack.path)).toEqual([
      'Finale/Finale/Api/HttpApi/POST--webhooks--{source}',
    ]);
  });

  it('passes with an existing VPC, with no NAT gateway, and with Container Insights', () => {
    const existing = synthFinale(
      { existingVpc: { vpcId: 'vpc-0123abcd', subnetIds: ['subnet-0123abcd'] }, containerInsights: true },
      { bundle: false },
    );
    expect(findings(existing.app)).toEqual([]);
    const public_ = synthFinale({ natGateways: 0 }, { bundle: false });
    expect(findings(public_.app)).toEqual([]);
  });

  it('fails the synth on a finding nobody acknowledged', () => {
    const synth = synthFinale({}, { plugins: [new AwsSolutionsChecks()], bundle: false });
    new sqs.Queue(synth.stack, 'Unchecked', { retentionPeriod: Duration.days(1) });
    expect(findings(synth.app).map((finding) => finding.rule)).toEqual([
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS4',
    ]);
    expect(() => synth.app.synth({ force: true })).toThrow(/AwsSolutions-SQS3/);
  });
});
