// The KMS key of a deployment's secured variables: SSM encrypts their SecureString parameters under it
// (aws/vault.ts), and the step tasks seal secured output variables with it. Who may use it for what
// is in infra/permissions.ts (grantWriteVariables, grantReadVariables, grantSealOutputs).

import type { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

export function createVariablesKey(
  scope: Construct,
  settings: { readonly resourcePrefix: string; readonly removalPolicy: RemovalPolicy },
): kms.Key {
  return new kms.Key(scope, 'VariablesKey', {
    description: `Finale (${settings.resourcePrefix}): secured variables and secured output variables`,
    // Yearly: KMS keeps the older key material, so values sealed before a rotation still open.
    enableKeyRotation: true,
    // A key that is gone takes every secured value with it: it goes with the tables, not before.
    removalPolicy: settings.removalPolicy,
  });
}
