// What the agent knows of the step container beside it: the ECS task metadata endpoint (v4), which
// Fargate injects into every container as ECS_CONTAINER_METADATA_URI_V4. The step container has a
// PID namespace of its own — the supervisor is its PID 1, so that nothing a step starts escapes it,
// and nothing in it can see Finale's containers — so the agent cannot watch its process: it asks ECS.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate-response.html

export type ContainerState =
  | { readonly state: 'starting' }
  | { readonly state: 'running' }
  | { readonly state: 'stopped'; readonly exitCode?: number };

export type ContainerWatch = () => Promise<ContainerState>;

interface TaskMetadata {
  readonly Containers?: readonly {
    readonly Name?: string;
    readonly KnownStatus?: string;
    readonly ExitCode?: number;
  }[];
}

/** The state of container `name` of this task, as the metadata endpoint at `uri` reports it. */
export function taskMetadataWatch(uri: string, name: string): ContainerWatch {
  return async () => {
    const response = await fetch(`${uri}/task`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`the task metadata endpoint answered ${response.status}`);
    const task = (await response.json()) as TaskMetadata;
    const container = task.Containers?.find((candidate) => candidate.Name === name);
    switch (container?.KnownStatus) {
      case 'RUNNING':
        return { state: 'running' };
      case 'STOPPED':
        return {
          state: 'stopped',
          ...(typeof container.ExitCode === 'number' ? { exitCode: container.ExitCode } : {}),
        };
      default:
        // Not created yet (PENDING, PULLED, CREATED), or not listed yet.
        return { state: 'starting' };
    }
  };
}
