// The CloudWatch dashboard of the seed SLIs (success rate, duration, queue time, deployment frequency),
// read from the EMF metrics the events Lambda emits when a run ends, plus the health of Finale itself
// (Lambda errors and throttles, API errors, undelivered events) and the alarms on them.

import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '../aws/metrics';
import { FUNCTION_NAMES, type FunctionName } from './functions';

interface FinaleMonitoringProps {
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  readonly httpApi: apigw.HttpApi;
  readonly deadLetterQueue: sqs.IQueue;
  /** Percent of successful runs below which the success-rate alarm fires. */
  readonly successRateThreshold: number;
  readonly alarmTopic?: sns.ITopic;
}

// Totals: the events Lambda emits them with only the `service` dimension Powertools adds.
const sli = (name: string, statistic: string, period: Duration, label: string) =>
  new cloudwatch.Metric({
    namespace: METRICS.namespace,
    metricName: name,
    dimensionsMap: { service: METRICS.service },
    statistic,
    period,
    label,
  });

/**
 * Successful runs per hundred runs that ended (aws/metrics.ts emits Runs and SuccessfulRuns, 0 or 1, for
 * every run); no value, rather than zero, for a period without runs.
 */
function successRate(period: Duration): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'IF(runs > 0, 100 * succeeded / runs)',
    usingMetrics: {
      runs: sli(METRICS.names.runs, 'Sum', period, 'Runs'),
      succeeded: sli(METRICS.names.successfulRuns, 'Sum', period, 'Succeeded'),
    },
    period,
    label: 'Success rate (%)',
  });
}

export class FinaleMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: FinaleMonitoringProps) {
    super(scope, id);
    const hour = Duration.hours(1);
    const day = Duration.days(1);
    const fiveMinutes = Duration.minutes(5);
    const functions = FUNCTION_NAMES.map((name) => [name, props.functions[name]] as const);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          "# Finale\nPipeline SLIs from the runs that ended (namespace `Finale`), then Finale's own health.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Pipeline success rate (%)',
        left: [successRate(hour)],
        leftYAxis: { min: 0, max: 100 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Runs and deployments per day',
        left: [
          sli(METRICS.names.runs, 'Sum', day, 'Runs'),
          sli(METRICS.names.deployments, 'Sum', day, 'Deployments'),
        ],
        width: 8,
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Last 24 hours',
        metrics: [
          successRate(day),
          sli(METRICS.names.deployments, 'Sum', day, 'Deployments'),
          sli(METRICS.names.duration, 'p50', day, 'Duration p50 (s)'),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Pipeline duration (s)',
        left: ['p50', 'p90', 'Maximum'].map((stat) =>
          sli(METRICS.names.duration, stat, hour, `Duration ${stat}`),
        ),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Queue time, created to started (s)',
        left: ['p50', 'p90', 'Maximum'].map((stat) =>
          sli(METRICS.names.queueTime, stat, hour, `Queue time ${stat}`),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda errors',
        left: functions.map(([name, fn]) => fn.metricErrors({ period: fiveMinutes, label: name })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda throttles',
        left: functions.map(([name, fn]) => fn.metricThrottles({ period: fiveMinutes, label: name })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda duration p90 (ms)',
        left: functions.map(([name, fn]) =>
          fn.metricDuration({ period: fiveMinutes, statistic: 'p90', label: name }),
        ),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        left: [
          props.httpApi.metricCount({ period: fiveMinutes, label: 'Requests' }),
          props.httpApi.metricClientError({ period: fiveMinutes, label: '4xx' }),
          props.httpApi.metricServerError({ period: fiveMinutes, label: '5xx' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Events not handled (dead-letter queue)',
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: fiveMinutes,
            label: 'Messages',
          }),
        ],
        width: 12,
      }),
    );

    this.alarm('SuccessRateAlarm', {
      metric: successRate(Duration.hours(6)),
      threshold: props.successRateThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      alarmDescription: `Finale: fewer than ${props.successRateThreshold}% of the pipeline runs that ended in the last 6 hours succeeded`,
    });
    for (const [name, fn] of functions) {
      // The control function throws Step.Failed, Run.NotRunning… on purpose (the state machines' Catch
      // routes on them), so its Errors count failing steps, not faults: it is graphed, not alarmed.
      if (name !== 'control') {
        this.alarm(`${name}ErrorsAlarm`, {
          metric: fn.metricErrors({ period: fiveMinutes }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          alarmDescription: `Finale: the ${name} function failed`,
        });
      }
      this.alarm(`${name}ThrottlesAlarm`, {
        metric: fn.metricThrottles({ period: fiveMinutes }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `Finale: the ${name} function was throttled`,
      });
    }
    this.alarm('ApiServerErrorsAlarm', {
      metric: props.httpApi.metricServerError({ period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'Finale: the HTTP API answered 5xx (webhook deliveries are then retried by the host)',
    });
    this.alarm('DeadLettersAlarm', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription:
        'Finale: ECS or Step Functions events were not handled; runs may not have recorded their end',
    });

    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    if (props.alarmTopic) {
      const action = new actions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) alarm.addAlarmAction(action);
    }
  }

  private alarm(
    id: string,
    options: Pick<cloudwatch.AlarmProps, 'metric' | 'threshold' | 'comparisonOperator' | 'alarmDescription'>,
  ): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        ...options,
        evaluationPeriods: 1,
        // No runs, no invocations: nothing is wrong.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
