// Webhook payloads → the triggers they carry. One translator per source; each declares only the
// fields it reads (zod, so a malformed payload is rejected with the field named). A push may carry
// several changes (branches, tags, deletions); each change is one trigger or one skip with a reason.

import { en } from 'zod/locales';
import * as z from 'zod/mini';
import type { TriggerEvent } from '../../statemachine/language/model';
import type { TriggerRecord } from '../../store/records';
import type { WebhookSource } from './sources';

export interface Trigger {
  /** What the run records. */
  readonly record: TriggerRecord;
  /** What pipeline selection reads. */
  readonly event: TriggerEvent;
}

export interface Skipped {
  readonly ref: string;
  readonly reason: string;
}

type Translation =
  | {
      readonly kind: 'triggers';
      readonly repository: string;
      /** Who caused it, for the run's `startedBy`. */
      readonly actor: string;
      readonly triggers: readonly Trigger[];
      readonly skipped: readonly Skipped[];
    }
  | { readonly kind: 'ignored'; readonly reason: string };

/** The payload does not have the shape its event promises. */
export class MalformedPayload extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedPayload';
  }
}

// A rejected payload's error quotes zod's message, and zod/mini (which keeps this bundle small) sets
// no locale.
z.config(en());

const nonEmpty = z.string().check(z.minLength(1));

function parse<T>(schema: z.ZodMiniType<T>, payload: unknown, event: string): T {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new MalformedPayload(`${event} payload: ${issue.path.join('.') || 'body'}: ${issue.message}`);
}

const branchTrigger = (branch: string, commit: string, message?: string): Trigger => ({
  record: { kind: 'branch', ref: branch, commit, ...(message ? { message } : {}) },
  event: { kind: 'branch', branch, ...(message ? { message } : {}) },
});
const tagTrigger = (tag: string, commit: string, message?: string): Trigger => ({
  record: { kind: 'tag', ref: tag, commit, ...(message ? { message } : {}) },
  event: { kind: 'tag', tag, ...(message ? { message } : {}) },
});
const bookmarkTrigger = (bookmark: string, commit: string, message?: string): Trigger => ({
  record: { kind: 'bookmark', ref: bookmark, commit, ...(message ? { message } : {}) },
  event: { kind: 'bookmark', bookmark, ...(message ? { message } : {}) },
});
const pullRequestTrigger = (pr: {
  id: string;
  source: string;
  destination: string;
  commit: string;
  /** Opened, or given new commits (the trigger events `pullrequest-created` and `-push`). */
  action: 'created' | 'updated';
}): Trigger => ({
  record: {
    kind: 'pull-request',
    ref: pr.source,
    commit: pr.commit,
    destination: pr.destination,
    pullRequestId: pr.id,
  },
  event: { kind: 'pull-request', source: pr.source, destination: pr.destination, action: pr.action },
});

const fromFork = (source: string, target: string): Skipped | undefined =>
  source === target
    ? undefined
    : {
        ref: source,
        reason: `pull requests from forks (${source}) are not built: their code would run with this repository's access`,
      };

// ---------------------------------------------------------------------------------------------------
// Bitbucket Cloud: repo:push, pullrequest:created, pullrequest:updated

const CloudActor = z.optional(
  z.object({
    nickname: z.optional(z.string()),
    username: z.optional(z.string()),
    display_name: z.optional(z.string()),
  }),
);
const cloudActor = (actor: z.infer<typeof CloudActor>) =>
  actor?.nickname ?? actor?.username ?? actor?.display_name ?? 'Bitbucket';
const CloudRef = z.object({
  type: z.string(),
  name: nonEmpty,
  target: z.object({ hash: nonEmpty, message: z.optional(z.string()) }),
});
const CloudPush = z.object({
  actor: CloudActor,
  repository: z.object({ full_name: nonEmpty }),
  push: z.object({
    changes: z.array(z.object({ new: z.nullish(CloudRef), old: z.nullish(CloudRef) })),
  }),
});
const CloudPullRequest = z.object({
  actor: CloudActor,
  repository: z.object({ full_name: nonEmpty }),
  pullrequest: z.object({
    id: z.number(),
    source: z.object({
      branch: z.object({ name: nonEmpty }),
      commit: z.object({ hash: nonEmpty }),
      repository: z.optional(z.object({ full_name: z.string() })),
    }),
    destination: z.object({ branch: z.object({ name: nonEmpty }) }),
  }),
});

function bitbucketCloud(event: string, payload: unknown): Translation {
  if (event === 'repo:push') {
    const push = parse(CloudPush, payload, event);
    const triggers: Trigger[] = [];
    const skipped: Skipped[] = [];
    for (const change of push.push.changes) {
      const ref = change.new;
      if (!ref) {
        const old = change.old;
        skipped.push({
          ref: old?.name ?? '?',
          reason: `${old?.type ?? 'ref'} ${old?.name ?? '?'} was deleted`,
        });
      } else if (ref.type === 'branch') {
        triggers.push(branchTrigger(ref.name, ref.target.hash, ref.target.message));
      } else if (ref.type === 'tag' || ref.type === 'annotated_tag') {
        triggers.push(tagTrigger(ref.name, ref.target.hash, ref.target.message));
      } else if (ref.type === 'bookmark' || ref.type === 'named_branch') {
        triggers.push(bookmarkTrigger(ref.name, ref.target.hash, ref.target.message));
      } else {
        skipped.push({ ref: ref.name, reason: `a push of a ${ref.type} starts nothing` });
      }
    }
    return {
      kind: 'triggers',
      repository: push.repository.full_name,
      actor: cloudActor(push.actor),
      triggers,
      skipped,
    };
  }
  if (event === 'pullrequest:created' || event === 'pullrequest:updated') {
    const body = parse(CloudPullRequest, payload, event);
    const pr = body.pullrequest;
    const repository = body.repository.full_name;
    const fork = fromFork(pr.source.repository?.full_name ?? repository, repository);
    return {
      kind: 'triggers',
      repository,
      actor: cloudActor(body.actor),
      triggers: fork
        ? []
        : [
            pullRequestTrigger({
              id: String(pr.id),
              source: pr.source.branch.name,
              destination: pr.destination.branch.name,
              commit: pr.source.commit.hash,
              action: event === 'pullrequest:created' ? 'created' : 'updated',
            }),
          ],
      skipped: fork ? [fork] : [],
    };
  }
  return { kind: 'ignored', reason: `Bitbucket Cloud event ${event} starts nothing` };
}

// ---------------------------------------------------------------------------------------------------
// Bitbucket Data Center: repo:refs_changed, pr:opened, pr:from_ref_updated

const DcRepository = z.object({ slug: nonEmpty, project: z.object({ key: nonEmpty }) });
const dcRepository = (repository: z.infer<typeof DcRepository>) =>
  `${repository.project.key}/${repository.slug}`;
const DcActor = z.optional(z.object({ name: z.optional(z.string()), displayName: z.optional(z.string()) }));
const dcActor = (actor: z.infer<typeof DcActor>) => actor?.name ?? actor?.displayName ?? 'Bitbucket';
const DcRefsChanged = z.object({
  actor: DcActor,
  repository: DcRepository,
  changes: z.array(
    z.object({
      ref: z.object({ displayId: nonEmpty, type: z.string() }),
      toHash: z.string(),
      type: z.string(),
    }),
  ),
});
const DcRef = z.object({
  displayId: nonEmpty,
  latestCommit: nonEmpty,
  repository: DcRepository,
});
const DcPullRequest = z.object({
  actor: DcActor,
  pullRequest: z.object({ id: z.number(), fromRef: DcRef, toRef: DcRef }),
});

function bitbucketDataCenter(event: string, payload: unknown): Translation {
  if (event === 'repo:refs_changed') {
    const body = parse(DcRefsChanged, payload, event);
    const triggers: Trigger[] = [];
    const skipped: Skipped[] = [];
    for (const change of body.changes) {
      const name = change.ref.displayId;
      if (change.type === 'DELETE') {
        skipped.push({ ref: name, reason: `${change.ref.type.toLowerCase()} ${name} was deleted` });
      } else if (change.ref.type === 'BRANCH') {
        triggers.push(branchTrigger(name, change.toHash));
      } else if (change.ref.type === 'TAG') {
        triggers.push(tagTrigger(name, change.toHash));
      } else {
        skipped.push({ ref: name, reason: `a change of a ${change.ref.type} starts nothing` });
      }
    }
    return {
      kind: 'triggers',
      repository: dcRepository(body.repository),
      actor: dcActor(body.actor),
      triggers,
      skipped,
    };
  }
  if (event === 'pr:opened' || event === 'pr:from_ref_updated') {
    const body = parse(DcPullRequest, payload, event);
    const { fromRef, toRef, id } = body.pullRequest;
    const repository = dcRepository(toRef.repository);
    const fork = fromFork(dcRepository(fromRef.repository), repository);
    return {
      kind: 'triggers',
      repository,
      actor: dcActor(body.actor),
      triggers: fork
        ? []
        : [
            pullRequestTrigger({
              id: String(id),
              source: fromRef.displayId,
              destination: toRef.displayId,
              commit: fromRef.latestCommit,
              action: event === 'pr:opened' ? 'created' : 'updated',
            }),
          ],
      skipped: fork ? [fork] : [],
    };
  }
  return { kind: 'ignored', reason: `Bitbucket Data Center event ${event} starts nothing` };
}

// ---------------------------------------------------------------------------------------------------
// GitHub: push, pull_request (opened, synchronize, reopened)

const GitHubPush = z.object({
  ref: nonEmpty,
  after: z.string(),
  deleted: z.optional(z.boolean()),
  head_commit: z.nullish(z.object({ message: z.optional(z.string()) })),
  repository: z.object({ full_name: nonEmpty }),
  sender: z.optional(z.object({ login: z.string() })),
});
const GitHubPullRequest = z.object({
  action: z.string(),
  number: z.number(),
  repository: z.object({ full_name: nonEmpty }),
  sender: z.optional(z.object({ login: z.string() })),
  pull_request: z.object({
    head: z.object({
      ref: nonEmpty,
      sha: nonEmpty,
      repo: z.nullable(z.object({ full_name: z.string() })),
    }),
    base: z.object({ ref: nonEmpty }),
  }),
});
const BUILT_PR_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

function github(event: string, payload: unknown): Translation {
  if (event === 'push') {
    const push = parse(GitHubPush, payload, event);
    const repository = push.repository.full_name;
    const actor = push.sender?.login ?? 'GitHub';
    const message = push.head_commit?.message;
    const branch = /^refs\/heads\/(.+)$/.exec(push.ref)?.[1];
    const tag = /^refs\/tags\/(.+)$/.exec(push.ref)?.[1];
    const name = branch ?? tag ?? push.ref;
    if (push.deleted || /^0+$/.test(push.after)) {
      return {
        kind: 'triggers',
        repository,
        actor,
        triggers: [],
        skipped: [{ ref: name, reason: `${branch ? 'branch' : 'tag'} ${name} was deleted` }],
      };
    }
    if (!branch && !tag) {
      return {
        kind: 'triggers',
        repository,
        actor,
        triggers: [],
        skipped: [{ ref: name, reason: `a push to ${push.ref} starts nothing` }],
      };
    }
    const trigger = branch
      ? branchTrigger(branch, push.after, message)
      : tagTrigger(tag!, push.after, message);
    return { kind: 'triggers', repository, actor, triggers: [trigger], skipped: [] };
  }
  if (event === 'pull_request') {
    const body = parse(GitHubPullRequest, payload, event);
    if (!BUILT_PR_ACTIONS.has(body.action)) {
      return { kind: 'ignored', reason: `pull_request action ${body.action} starts nothing` };
    }
    const repository = body.repository.full_name;
    const { head, base } = body.pull_request;
    const fork = fromFork(head.repo?.full_name ?? '(deleted fork)', repository);
    return {
      kind: 'triggers',
      repository,
      actor: body.sender?.login ?? 'GitHub',
      triggers: fork
        ? []
        : [
            pullRequestTrigger({
              id: String(body.number),
              source: head.ref,
              destination: base.ref,
              commit: head.sha,
              action: body.action === 'synchronize' ? 'updated' : 'created',
            }),
          ],
      skipped: fork ? [fork] : [],
    };
  }
  return { kind: 'ignored', reason: `GitHub event ${event} starts nothing` };
}

const TRANSLATORS: Record<WebhookSource, (event: string, payload: unknown) => Translation> = {
  'bitbucket-cloud': bitbucketCloud,
  'bitbucket-data-center': bitbucketDataCenter,
  github,
};

export function translate(source: WebhookSource, event: string, payload: unknown): Translation {
  return TRANSLATORS[source](event, payload);
}
