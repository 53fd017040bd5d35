// The two secrets of a deployment: the webhook's HMAC secret (registered with the repository host)
// and the host's API token (pasted in after deploying).

import { type RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/** The host token secret starts as this; the deployer puts the real credentials in. */
export const HOST_TOKEN_PLACEHOLDER = 'REPLACE_ME';

/**
 * Created on the deployment's own construct, under the ids they always had, so that an update keeps
 * the secrets a deployer has registered and pasted in.
 */
export function createSecrets(
  scope: Construct,
  settings: { readonly resourcePrefix: string; readonly removalPolicy: RemovalPolicy },
) {
  const prefix = settings.resourcePrefix;
  const webhookSecret = new secretsmanager.Secret(scope, 'WebhookSecret', {
    description: `Finale (${prefix}): the HMAC secret to register with the repository webhooks`,
    generateSecretString: { passwordLength: 48, excludePunctuation: true },
    removalPolicy: settings.removalPolicy,
  });
  Validations.of(webhookSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The webhook secret is also configured in Bitbucket or GitHub by hand; an automatic rotation would ' +
      'make every delivery fail the signature check until someone updates the host.',
  });
  const hostTokenSecret = new secretsmanager.Secret(scope, 'HostToken', {
    description: `Finale (${prefix}): credentials for the repository host's API (fill in after deploying)`,
    // Not a secret: a marker the deployer replaces with the real token.
    secretStringValue: SecretValue.unsafePlainText(HOST_TOKEN_PLACEHOLDER),
    removalPolicy: settings.removalPolicy,
  });
  Validations.of(hostTokenSecret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'The host token is issued by Bitbucket or GitHub, not by AWS: it is rotated there and pasted in; ' +
      'no rotation function can create one.',
  });
  return { webhookSecret, hostTokenSecret };
}
