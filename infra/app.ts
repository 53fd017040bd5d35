// The CDK app of `cdk synth` / `cdk deploy`: one Finale stack, checked by cdk-nag's AwsSolutions pack
// (a finding that is not acknowledged next to its resource fails the synth).
//
// Settings come from context (`-c key=value` or cdk.json), never from lookups, so synth works offline:
//   stackName, resourcePrefix, natGateways, maxAzs, logRetentionDays, removalPolicy (retain|destroy),
//   vpcId + subnetIds (comma-separated) [+ availabilityZones, assignPublicIp] for an existing VPC,
//   agentImageUri (an image instead of building agent/Dockerfile).

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { finalePropsFromContext } from './context';
import { FinaleStack } from './finale-stack';

const app = new App();
const context = (key: string): unknown => app.node.tryGetContext(key);
new FinaleStack(app, typeof context('stackName') === 'string' ? (context('stackName') as string) : 'Finale', {
  finale: finalePropsFromContext(context),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
