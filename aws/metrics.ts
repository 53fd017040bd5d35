// The run metrics Finale emits (CloudWatch embedded metric format, through Powertools Metrics) when a
// run ends. infra/ builds the dashboard and alarms from these names: this constant is the contract.

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RunRecord } from '../store/records';

export const METRICS = {
  namespace: 'Finale',
  /** Powertools adds it as the `service` dimension of every metric. */
  service: 'finale',
  names: {
    /** Count, 1 per run that ended (any status): the success rate's denominator. */
    runs: 'Runs',
    /** Count, 1 per run that ended SUCCESSFUL. Success rate = 100 × SuccessfulRuns / Runs. */
    successfulRuns: 'SuccessfulRuns',
    /** Seconds from the first state to the end of the run. */
    duration: 'RunDuration',
    /** Seconds from the trigger (run created) to the first state (run started). */
    queueTime: 'QueueTime',
    /** Count, 1 per successful run with a deployment step: deployment frequency. */
    deployments: 'Deployments',
  },
} as const;

type MetricName = (typeof METRICS.names)[keyof typeof METRICS.names];

interface RunMetric {
  readonly name: MetricName;
  readonly unit: 'Count' | 'Seconds';
  readonly value: number;
}

/** The metrics of a run that has ended; pure, so the events handler and its tests agree. */
function runMetrics(run: RunRecord, deploys: boolean): RunMetric[] {
  const { names } = METRICS;
  const successful = run.status === 'SUCCESSFUL';
  const metrics: RunMetric[] = [
    { name: names.runs, unit: 'Count', value: 1 },
    { name: names.successfulRuns, unit: 'Count', value: successful ? 1 : 0 },
  ];
  if (run.startedAt !== undefined) {
    metrics.push({ name: names.queueTime, unit: 'Seconds', value: (run.startedAt - run.createdAt) / 1000 });
    if (run.endedAt !== undefined) {
      metrics.push({ name: names.duration, unit: 'Seconds', value: (run.endedAt - run.startedAt) / 1000 });
    }
  }
  if (successful && deploys) metrics.push({ name: names.deployments, unit: 'Count', value: 1 });
  return metrics;
}

/** Powertools Metrics for Finale's namespace; EMF lines go to stdout, which Lambda ships to CloudWatch. */
export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
}

/** Writes one EMF document with the run's metrics. */
export function publishRunMetrics(metrics: Metrics, run: RunRecord, deploys: boolean): RunMetric[] {
  const emitted = runMetrics(run, deploys);
  for (const metric of emitted) {
    metrics.addMetric(
      metric.name,
      metric.unit === 'Count' ? MetricUnit.Count : MetricUnit.Seconds,
      metric.value,
    );
  }
  metrics.publishStoredMetrics();
  return emitted;
}
