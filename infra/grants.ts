// Who may do what in a deployment: each function's tables (through store/, the only DynamoDB
// client), secrets, task and execution permissions; the step tasks' role; the state machines' role.
// Secured variables: the API writes them, the execution role reads them into the step's task, the
// task role seals output variables; no one else may use the variables key or read a parameter.

import type { Finale } from './finale';
import {
  ACTIONS,
  grantArtifacts,
  grantReadLogs,
  grantReadSecrets,
  grantReadVariables,
  grantRecoverExecutions,
  grantSealOutputs,
  grantStartRuns,
  grantStateMachine,
  grantStopTask,
  grantTables,
  grantTaskResponse,
  grantWriteLogs,
  grantWriteVariables,
} from './permissions';

/** The grants of a deployment, all made once its principals and resources exist. */
export function grantFinale(d: Finale): void {
  const scope = d;
  const { webhook, api, control, events } = d.functions;
  // Which tables each principal's core functions touch, and how (store/ is the only DynamoDB client).
  const rw = ACTIONS.storeReadWrite;
  const core = { runs: rw, locks: rw, repositories: rw, plans: ACTIONS.plansRead };
  const startRuns = {
    resourcePrefix: d.resourcePrefix,
    stateMachineRole: d.stateMachineRole,
    taskRole: d.taskRole,
    executionRole: d.executionRole,
  };

  grantTables(webhook, d.tables, {
    runs: rw,
    repositories: rw,
    plans: ACTIONS.plansWrite,
    deliveries: ACTIONS.deliveries,
  });
  grantReadSecrets(webhook, [d.webhookSecret, d.hostTokenSecret]);
  grantStartRuns(webhook, startRuns, scope);

  grantTables(api, d.tables, { ...core, plans: ACTIONS.plansWrite });
  grantStopTask(api, d.cluster);
  grantTaskResponse(api, d.resourcePrefix, scope);
  // Custom pipelines started from the API go through the same start as a push.
  grantStartRuns(api, startRuns, scope);
  grantReadSecrets(api, [d.hostTokenSecret]);
  grantReadLogs(api, d.stepLogGroup);
  // A forced unlock tells the step that held the lock, in its own log.
  grantWriteLogs(api, d.stepLogGroup);
  // PUT and DELETE /variables/NAME.
  grantWriteVariables(api, d.variablesKey, d.resourcePrefix, scope);

  grantTables(control, d.tables, core);
  grantTaskResponse(control, d.resourcePrefix, scope);
  grantStopTask(control, d.cluster);

  grantTables(events, d.tables, core);
  grantTaskResponse(events, d.resourcePrefix, scope);
  grantStopTask(events, d.cluster);
  // A run whose execution was aborted outside Finale gets a recovery execution that runs its final step.
  grantRecoverExecutions(events, d.resourcePrefix, scope);
  grantReadSecrets(events, [d.hostTokenSecret]);

  // The task role is Finale's (prepare, agent), but ECS offers its credentials to every container of
  // the task, the step's too: what it may do, a step's script may. Per-repository roles, for steps
  // that are not trusted, are issue 11's.
  grantTables(d.taskRole, d.tables, {
    runs: ACTIONS.storeTaskRuns,
    plans: ACTIONS.plansRead,
    repositories: ACTIONS.storeTaskVariables,
  });
  grantArtifacts(d.taskRole, d.artifactsBucket);
  grantReadSecrets(d.taskRole, [d.hostTokenSecret]);
  grantSealOutputs(d.taskRole, d.variablesKey);
  grantReadVariables(d.executionRole, d.variablesKey, d.resourcePrefix, scope);

  grantStateMachine(d.stateMachineRole, {
    resourcePrefix: d.resourcePrefix,
    cluster: d.cluster,
    taskRole: d.taskRole,
    executionRole: d.executionRole,
    control,
  });
}
