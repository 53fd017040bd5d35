// Facts read from ARNs, so the Lambdas need no extra configuration for their region and account.

interface ArnParts {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

export function parseArn(arn: string): ArnParts {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') throw new Error(`not an ARN: ${arn}`);
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  return { partition, service, region, account, resource: parts.slice(5).join(':') };
}

/** The console page of an execution: the link a commit status points at. */
export function executionConsoleUrl(executionArn: string): string {
  const { region, partition } = parseArn(executionArn);
  const domain = partition === 'aws-cn' ? 'console.amazonaws.cn' : 'console.aws.amazon.com';
  return `https://${region}.${domain}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}
