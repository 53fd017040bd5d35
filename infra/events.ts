// The EventBridge rules that feed the events Lambda: ECS task state changes in Finale's cluster (a
// step's task is indexed on first sight, its exit recorded when it stops) and the end of executions of
// Finale's state machines (run completion, commit status, and the final step after a console abort).

import { Duration, Validations } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { arns } from './permissions';

/** Execution statuses the events Lambda acts on; RUNNING (and PENDING_REDRIVE) need nothing. */
export const EXECUTION_END_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

interface FinaleEventsProps {
  readonly handler: lambda.Function;
  readonly cluster: ecs.ICluster;
  readonly resourcePrefix: string;
}

export class FinaleEvents extends Construct {
  readonly taskStateRule: events.Rule;
  readonly executionStatusRule: events.Rule;
  /** Events that could not be delivered, or whose handling failed after Lambda's retries. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: FinaleEventsProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the EventBridge targets and of the events function; ' +
        'a dead-letter queue of its own would only move the same messages again.',
    });

    // A failed event is retried by Lambda (twice) and then kept here, so a missed task stop or run end
    // can be replayed; the alarm on this queue says when that happened.
    props.handler.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
    const target = new targets.LambdaFunction(props.handler, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 8,
      maxEventAge: Duration.hours(6),
    });

    this.taskStateRule = new events.Rule(this, 'TaskStateChange', {
      description: "Finale: state changes of the step tasks in Finale's cluster",
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: { clusterArn: [props.cluster.clusterArn] },
      },
      targets: [target],
    });

    this.executionStatusRule = new events.Rule(this, 'ExecutionStatusChange', {
      description: "Finale: executions of Finale's pipeline state machines that ended",
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: events.Match.prefix(arns.stateMachinePrefix(this, props.resourcePrefix)),
          status: [...EXECUTION_END_STATUSES],
        },
      },
      targets: [target],
    });
  }
}
