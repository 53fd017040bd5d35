// Synthesizes the Finale stack the way `cdk synth` does (cdk.json's context, no account or region, no
// lookups) into a temporary directory, and reads its template in terms a reader can check: logical ids
// become the construct paths they stand for (`<Tables/runs.Arn>`).

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnElement, type IPolicyValidationPlugin, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { FinaleProps } from '../../infra/finale';
import { FinaleStack } from '../../infra/finale-stack';

export const ROOT = join(import.meta.dirname, '..', '..');

/** A registry image, so the tests do not stage the agent's Docker build context. */
export const TEST_AGENT_IMAGE = 'public.ecr.aws/finale/agent:test';

export function cdkContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: FinaleStack;
  readonly template: Template;
  /** Logical id → path under the Finale construct (or the stack), e.g. `Tables/runs`. */
  readonly aliases: ReadonlyMap<string, string>;
  /** Any CloudFormation value as a readable string, e.g. `arn:<AWS::Partition>:…:<Steps/Cluster>/*`. */
  readonly show: (value: unknown) => string;
}

export interface SynthOptions {
  /**
   * CDK's built-in CloudFormation schema validation, as `cdk synth` runs it; it costs seconds, so only
   * the test that checks the whole synth turns it on.
   */
  readonly validateTemplates?: boolean;
  /**
   * Bundle the functions with esbuild (as `cdk synth` does). Off, CDK skips bundling (the
   * `aws:cdk:bundling-stacks` context is empty), for tests about anything but the code assets.
   */
  readonly bundle?: boolean;
  /** Plugins (cdk-nag) registered on the app, run by `app.synth()`. */
  readonly plugins?: readonly IPolicyValidationPlugin[];
}

/** The Finale stack with the real handlers of lambdas/ and a registry image for the agent. */
export function synthFinale(props: FinaleProps = {}, options: SynthOptions = {}): Synthesized {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'finale-cdk-')),
    context: { ...cdkContext(), ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}) },
    builtinCloudFormationValidation: options.validateTemplates ?? false,
  });
  if (options.plugins) Validations.of(app).addPlugins(...options.plugins);
  const stack = new FinaleStack(app, 'Finale', {
    finale: { agentImage: { imageUri: TEST_AGENT_IMAGE }, ...props },
  });
  const template = Template.fromStack(stack);
  const aliases = new Map<string, string>();
  for (const construct of stack.node.findAll()) {
    if (!(construct instanceof CfnElement)) continue;
    const logicalId = stack.resolve(construct.logicalId) as string;
    const parts = construct.node.path.split('/').slice(1);
    if (parts[0] === 'Finale') parts.shift();
    // `…/Resource` is the L1 behind an L2: name it by the L2.
    if (parts.at(-1) === 'Resource' || parts.at(-1) === 'Default') parts.pop();
    aliases.set(logicalId, parts.join('/'));
  }
  const show = (value: unknown): string =>
    flattenCfnReference(Stack.of(stack).resolve(value)).replace(
      /<([A-Za-z0-9]+)(\.[A-Za-z.]+)?>/g,
      (whole, id: string, attribute = '') => (aliases.has(id) ? `<${aliases.get(id)}${attribute}>` : whole),
    );
  return { app, stack, template, aliases, show };
}

/** A `Fn::Join` of JSON text (a dashboard body) as JSON, its tokens as `<…>` strings. */
export function joinedJson(synth: Synthesized, value: unknown): unknown {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return JSON.parse(value as string);
  return JSON.parse(
    join[1].map((part) => (typeof part === 'string' ? part : synth.show(part))).join(join[0]),
  );
}

export interface Statement {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: unknown;
}

/** `show` applied to every CloudFormation value inside a plain structure (conditions, environments). */
export function showDeep(synth: Synthesized, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => showDeep(synth, item));
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'))) return synth.show(value);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, showDeep(synth, item)]));
  }
  return value;
}

/** Every Allow statement of the policies attached to a role, actions and resources readable and sorted. */
export function statementsOf(synth: Synthesized, rolePath: string): Statement[] {
  const roleId = [...synth.aliases].find(([, path]) => path === rolePath)?.[0];
  if (!roleId) throw new Error(`no role at ${rolePath}`);
  const policies = Object.values(synth.template.findResources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as unknown[]).some((role) => (role as { Ref?: string }).Ref === roleId),
  );
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
  return policies
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Record<string, unknown>[])
    .map((statement) => {
      if (statement.Effect !== 'Allow') throw new Error(`unexpected ${String(statement.Effect)} statement`);
      const conditions =
        statement.Condition === undefined ? {} : { conditions: showDeep(synth, statement.Condition) };
      return {
        actions: list(statement.Action).map(String).sort(),
        resources: list(statement.Resource).map(synth.show).sort(),
        ...conditions,
      };
    })
    .sort((a, b) => `${a.actions}${a.resources}`.localeCompare(`${b.actions}${b.resources}`));
}
