// Finale's props from CDK context: `-c key=value` gives strings, cdk.json may give numbers and lists.

import { RemovalPolicy } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { FinaleProps } from './finale';
import { FinalePropsError } from './validate';

type Context = (key: string) => unknown;

const list = (value: unknown): string[] | undefined => {
  if (value === undefined) return undefined;
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  return items.map((item) => item.trim()).filter(Boolean);
};

const number = (key: string, value: unknown): number | undefined => {
  if (value === undefined) return undefined;
  const parsed = typeof value === 'number' ? value : Number(String(value).trim());
  if (String(value).trim() === '' || Number.isNaN(parsed)) {
    throw new FinalePropsError(`context ${key}`, value, 'must be a number');
  }
  return parsed;
};

const bool = (key: string, value: unknown): boolean | undefined => {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new FinalePropsError(`context ${key}`, value, 'must be true or false');
};

const REMOVAL: Record<string, RemovalPolicy> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
};

export function finalePropsFromContext(context: Context): FinaleProps {
  const string = (key: string): string | undefined => {
    const value = context(key);
    return value === undefined ? undefined : String(value);
  };
  const vpcId = string('vpcId');
  const subnetIds = list(context('subnetIds'));
  if (subnetIds && !vpcId) throw new FinalePropsError('context subnetIds', subnetIds, 'needs vpcId');
  const removal = string('removalPolicy');
  if (removal !== undefined && !(removal in REMOVAL)) {
    throw new FinalePropsError('context removalPolicy', removal, 'must be retain or destroy');
  }
  const agentImageUri = string('agentImageUri');
  return {
    resourcePrefix: string('resourcePrefix'),
    natGateways: number('natGateways', context('natGateways')),
    maxAzs: number('maxAzs', context('maxAzs')),
    logRetention: number('logRetentionDays', context('logRetentionDays')) as logs.RetentionDays | undefined,
    removalPolicy: removal === undefined ? undefined : REMOVAL[removal],
    existingVpc: vpcId
      ? {
          vpcId,
          subnetIds: subnetIds ?? [],
          availabilityZones: list(context('availabilityZones')),
          assignPublicIp: bool('assignPublicIp', context('assignPublicIp')),
        }
      : undefined,
    agentImage: agentImageUri ? { imageUri: agentImageUri } : undefined,
  };
}
