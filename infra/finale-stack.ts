// The stack `cdk deploy` creates: the Finale construct and the outputs a deployer needs next
// (where to point the webhooks and the CLI, which secrets to fill in).

import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { HostKind } from '../repository-hosts/host';
import { Finale, type FinaleProps } from './finale';

/**
 * The webhook URL per repository host. The function tells the host by the delivery's headers; the
 * `{source}` segment only names it in the URL (and in the API's access logs).
 */
export const WEBHOOK_SOURCES = {
  BitbucketCloud: 'bitbucket-cloud',
  BitbucketDataCenter: 'bitbucket-data-center',
  GitHub: 'github',
} as const satisfies Record<string, HostKind>;

interface FinaleStackProps extends StackProps {
  /** @default - the Finale construct's defaults */
  readonly finale?: FinaleProps;
}

export class FinaleStack extends Stack {
  readonly finale: Finale;

  constructor(scope: Construct, id: string, props: FinaleStackProps = {}) {
    super(scope, id, {
      description: 'Finale: Bitbucket Pipelines YAML on AWS Step Functions and ECS Fargate',
      ...props,
    });
    this.finale = new Finale(this, 'Finale', props.finale);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the runs API (IAM, SigV4): set FINALE_ENDPOINT to it for the finale CLI',
      value: this.finale.apiUrl,
    });
    for (const [host, source] of Object.entries(WEBHOOK_SOURCES)) {
      new CfnOutput(this, `WebhookUrl${host}`, {
        description: `Webhook URL to register in ${host}, with the secret WebhookSecretArn holds`,
        value: this.finale.webhookUrl(source),
      });
    }
    new CfnOutput(this, 'WebhookSecretArn', {
      description: 'The generated webhook secret (Secrets Manager)',
      value: this.finale.webhookSecret.secretArn,
    });
    new CfnOutput(this, 'HostTokenSecretArn', {
      description: "Put the repository host's API credentials in this secret",
      value: this.finale.hostTokenSecret.secretArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'CloudWatch dashboard of the pipeline SLIs',
      value: this.finale.dashboard.dashboardName,
    });
    new CfnOutput(this, 'ArtifactsBucketName', {
      description: 'Step artifacts (expire on their own)',
      value: this.finale.artifactsBucket.bucketName,
    });
  }
}
