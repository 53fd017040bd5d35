// What the step tasks run with: the Fargate cluster, their two roles, their log group, the artifacts
// bucket and Finale's own agent image. The task definitions themselves are registered at run time, one per
// distinct image/size/stop settings, by the Lambda that starts the run.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, IgnoreMode, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { grantPullImages, grantWriteLogs } from './permissions';

/** An image for Finale's prepare and agent containers; a `DockerImageAsset` is one. */
export interface FinaleAgentImage {
  readonly imageUri: string;
  /** The ECR repository the execution role may pull it from; absent for public registries. */
  readonly repository?: ecr.IRepository;
}

interface FinaleStepTasksProps {
  readonly vpc: ec2.IVpc;
  /** Directory the default agent image is built from (its Dockerfile is `agent/Dockerfile`). */
  readonly sourceDirectory: string;
  readonly agentImage?: FinaleAgentImage;
  readonly stepImageRepositories: readonly ecr.IRepository[];
  readonly containerInsights: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly artifactsExpiration: Duration;
  readonly removalPolicy: RemovalPolicy;
}

const AGENT_DOCKERFILE = 'agent/Dockerfile';

/**
 * The agent image's build context: only what agent/Dockerfile copies (a test keeps the two in step), so
 * the image is rebuilt when the agent's code changes, not when the README does.
 */
export const AGENT_CONTEXT = [
  'package.json',
  'package-lock.json',
  'agent',
  'aws',
  'core',
  'repository-hosts',
  'statemachine',
  'store',
  'supervisor',
  'vocabulary',
];

export class FinaleStepTasks extends Construct {
  readonly cluster: ecs.Cluster;
  readonly taskRole: iam.Role;
  readonly executionRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly artifactsBucket: s3.Bucket;
  readonly agentImage: FinaleAgentImage;

  constructor(scope: Construct, id: string, props: FinaleStepTasksProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      enableFargateCapacityProviders: true,
      containerInsightsV2: props.containerInsights
        ? ecs.ContainerInsights.ENABLED
        : ecs.ContainerInsights.DISABLED,
    });
    if (!props.containerInsights) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-ECS4',
        reason:
          'Container Insights is a prop (containerInsights), off by default: Finale registers a task definition ' +
          'family per content hash, and per-family custom metrics would cost more than the steps. Step ' +
          'results and durations are on the Finale dashboard.',
      });
    }

    this.logGroup = new logs.LogGroup(this, 'StepLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    this.artifactsBucket = new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { expiration: props.artifactsExpiration, abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.artifactsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the step task role reads and writes this bucket, and objects expire (artifactsExpiration); ' +
        'S3 server access logs would need a second bucket with its own retention for no extra audit value ' +
        'over CloudTrail data events, which an account can enable centrally.',
    });

    const ecsTrust = (name: string) =>
      new iam.Role(this, name, {
        assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', {
          // Confused deputy: only ECS acting for this account may assume it.
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'ecs', resource: '*' }) },
          },
        }),
      });

    // What Finale's own containers in the task (prepare, agent) may do: granted in finale.ts.
    this.taskRole = ecsTrust('TaskRole');

    this.agentImage = props.agentImage ?? this.buildAgentImage(props.sourceDirectory);

    // What ECS does to start the task: pull images, ship the awslogs streams.
    this.executionRole = ecsTrust('ExecutionRole');
    grantPullImages(this.executionRole, [
      ...(this.agentImage.repository ? [this.agentImage.repository] : []),
      ...props.stepImageRepositories,
    ]);
    grantWriteLogs(this.executionRole, this.logGroup);
  }

  private buildAgentImage(directory: string): FinaleAgentImage {
    const dockerfile = join(directory, AGENT_DOCKERFILE);
    if (!existsSync(dockerfile)) {
      throw new Error(
        `Finale: agentImage is not set and ${dockerfile} does not exist; pass agentImage (an image URI) or build from a Finale checkout`,
      );
    }
    // Built by the deployer's Docker at deploy time; synth only stages the context. x86-64 because the
    // agent shares each task with the step's own image, and most CI images are published for x86-64 only.
    return new DockerImageAsset(this, 'AgentImage', {
      directory,
      file: AGENT_DOCKERFILE,
      platform: Platform.LINUX_AMD64,
      // Docker's own syntax: leave everything out, then take back the context.
      ignoreMode: IgnoreMode.DOCKER,
      exclude: ['*', ...AGENT_CONTEXT.map((path) => `!${path}`), '**/node_modules'],
    });
  }
}
