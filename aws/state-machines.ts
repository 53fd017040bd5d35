// One Step Functions state machine per repository and pipeline, with a published version per distinct
// definition. Create/UpdateStateMachine are throttled to about one per second, so a run reuses the
// version of an equal definition instead of creating anything: the definition depends only on the
// pipeline's shape and stop settings (scripts live in the plans table), so most runs create nothing.

import { createHash } from 'node:crypto';
import {
  CreateStateMachineCommand,
  DescribeStateMachineCommand,
  PublishStateMachineVersionCommand,
  type SFNClient,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import type { AslDefinition } from '../statemachine/compiler/plan';

interface StateMachineSettings {
  readonly prefix: string;
  readonly region: string;
  readonly account: string;
  readonly partition?: string;
  readonly roleArn: string;
}

/** Step Functions names: 1–80 characters of letters, digits, `-` and `_`. */
const MAX_NAME = 80;

/** A readable, unique name for the repository + pipeline (readable part, then a hash of both). */
export function stateMachineName(prefix: string, repository: string, pipeline: string): string {
  const hash = createHash('sha256').update(`${repository}\n${pipeline}`).digest('hex').slice(0, 12);
  const readable = `${repository}-${pipeline}`.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/-+/g, '-');
  const room = MAX_NAME - prefix.length - hash.length - 2;
  return `${prefix}-${readable.slice(0, Math.max(0, room)).replace(/-$/, '')}-${hash}`.replace(/--+/g, '-');
}

export function createStateMachines(client: SFNClient, settings: StateMachineSettings) {
  const partition = settings.partition ?? 'aws';
  // definition hash → version ARN, for the life of the Lambda container.
  const versions = new Map<string, Promise<string>>();

  const publish = async (name: string, definition: string, description: string): Promise<string> => {
    const arn = `arn:${partition}:states:${settings.region}:${settings.account}:stateMachine:${name}`;
    let current: { definition?: string | undefined; revisionId?: string | undefined } | undefined;
    try {
      current = await client.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    } catch (error) {
      if (!(error instanceof Error && error.name === 'StateMachineDoesNotExist')) throw error;
    }
    if (!current) {
      try {
        const created = await client.send(
          new CreateStateMachineCommand({
            name,
            definition,
            roleArn: settings.roleArn,
            type: 'STANDARD',
            publish: true,
            versionDescription: description,
          }),
        );
        if (created.stateMachineVersionArn) return created.stateMachineVersionArn;
      } catch (error) {
        // Another invocation created it meanwhile: fall through to update/publish.
        if (!(error instanceof Error && error.name === 'StateMachineAlreadyExists')) throw error;
      }
      current = await client.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    }
    if (current.definition === definition && current.revisionId) {
      // Publishing a revision that already has a version returns that version: idempotent.
      const published = await client.send(
        new PublishStateMachineVersionCommand({
          stateMachineArn: arn,
          revisionId: current.revisionId,
          description,
        }),
      );
      if (published.stateMachineVersionArn) return published.stateMachineVersionArn;
    }
    const updated = await client.send(
      new UpdateStateMachineCommand({
        stateMachineArn: arn,
        definition,
        roleArn: settings.roleArn,
        publish: true,
        versionDescription: description,
      }),
    );
    if (!updated.stateMachineVersionArn) throw new Error(`Step Functions published no version of ${name}`);
    return updated.stateMachineVersionArn;
  };

  return {
    /** The version ARN to start executions of `definition` with. */
    version(repository: string, pipeline: string, definition: AslDefinition): Promise<string> {
      const text = JSON.stringify(definition);
      const name = stateMachineName(settings.prefix, repository, pipeline);
      const key = `${name}\n${createHash('sha256').update(text).digest('hex')}`;
      let version = versions.get(key);
      if (!version) {
        version = publish(name, text, `finale definition ${key.split('\n')[1]!.slice(0, 16)}`);
        version.catch(() => versions.delete(key));
        versions.set(key, version);
      }
      return version;
    },
  };
}
