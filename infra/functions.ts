// Finale's four Lambdas: bundled here by the local esbuild, on nodejs22.x and arm64, each with its own
// role (no managed policies: every grant is explicit) and its own log group with retention.

import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { grantWriteLogs } from './permissions';

export const FUNCTION_NAMES = ['webhook', 'api', 'control', 'events'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** Entry files, one per function; each exports `handler`. */
export type FunctionEntries = Readonly<Record<FunctionName, string>>;

/** Sized for what each does: the webhook compiles a pipeline, the others run one core function. */
const SETTINGS: Record<FunctionName, { memorySize: number; timeout: Duration; description: string }> = {
  // Under API Gateway's 30 s integration limit, so the host sees Finale's own answer.
  webhook: {
    memorySize: 1024,
    timeout: Duration.seconds(29),
    description: 'Finale: repository webhooks start runs',
  },
  api: {
    memorySize: 512,
    timeout: Duration.seconds(29),
    description: 'Finale: the runs API (IAM-authorized)',
  },
  control: {
    memorySize: 512,
    timeout: Duration.seconds(30),
    description: 'Finale: control actions of the pipeline state machines',
  },
  events: {
    memorySize: 512,
    timeout: Duration.seconds(60),
    description: 'Finale: ECS task and Step Functions execution events',
  },
};

interface FinaleFunctionsProps {
  readonly entries: FunctionEntries;
  /** Physical function names. */
  readonly names: Readonly<Record<FunctionName, string>>;
  /** Every variable of aws/config.ts, with its deployed value. */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class FinaleFunctions extends Construct {
  readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;

  constructor(scope: Construct, id: string, props: FinaleFunctionsProps) {
    super(scope, id);
    const functions: Partial<Record<FunctionName, NodejsFunction>> = {};
    for (const name of FUNCTION_NAMES) {
      const role = new iam.Role(this, `${name}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: SETTINGS[name].description,
      });
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      });
      grantWriteLogs(role, logGroup);
      const fn = new NodejsFunction(this, name, {
        functionName: props.names[name],
        entry: props.entries[name],
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: SETTINGS[name].memorySize,
        timeout: SETTINGS[name].timeout,
        description: SETTINGS[name].description,
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        environment: {
          ...props.environment,
          NODE_OPTIONS: '--enable-source-maps',
        },
        bundling: {
          forceDockerBundling: false,
          format: OutputFormat.ESM,
          target: 'node22',
          minify: true,
          sourceMap: true,
          sourcesContent: false,
          // The runtime's SDK version drifts; bundling our own clients pins what the tests ran against.
          externalModules: [],
          mainFields: ['module', 'main'],
          // CommonJS dependencies inside an ES module bundle still call require().
          banner:
            "import { createRequire as __finaleRequire } from 'node:module';const require = __finaleRequire(import.meta.url);",
        },
      });
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x is deliberate: it is supported until 2027-04-30 and matches the Node line the bundles ' +
          'are built and tested with; moving to nodejs24.x is a separate, tested change.',
      });
      functions[name] = fn;
    }
    this.functions = functions as Record<FunctionName, NodejsFunction>;
  }
}
