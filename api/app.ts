// The one HTTP API of Finale (Hono). API Gateway's Lambda and the local server serve this same app;
// each adapter only says who the caller is and how runs start and logs are read.

import { type Context, Hono } from 'hono';
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { NotFoundError } from '../core/failures';
import type { Core } from '../core/index';
import type { LogReader, RunStarter } from '../core/ports';
import { settingsView } from '../core/settings';
import type { RunRecord } from '../store/records';
import type { Caller, StopMode } from '../vocabulary/contract';
import { UsageError } from '../vocabulary/errors';
import { errorResponse } from './errors';
import { runView, startedRunView, type Views } from './views';

export interface ApiDeps {
  readonly core: Core;
  /** Who is calling; throws UnauthorizedError. */
  readonly authenticate: (c: Context) => Caller | Promise<Caller>;
  /** The repository a request without `?repository=` is about (the local server's own). */
  readonly defaultRepository?: string;
  readonly runs: RunStarter;
  readonly logs: LogReader;
  /** Extra facts for GET /health (the local server reports its build and runs in flight). */
  readonly health?: () => Record<string, unknown>;
}

type Env = { Variables: { caller: Caller } };

// A bad body's 400 quotes zod's message, and zod/mini (which keeps this bundle small) sets no locale.
z.config(en());

const StartBody = z.strictObject({
  pipeline: z.optional(z.string().check(z.minLength(1))),
  file: z._default(z.string().check(z.minLength(1)), 'bitbucket-pipelines.yml'),
  branch: z.optional(z.string().check(z.minLength(1))),
  variables: z._default(z.record(z.string(), z.string()), {}),
  environment: z.optional(z.record(z.string(), z.string())),
});
const StopBody = z.strictObject({
  mode: z._default(z.enum(['graceful', 'drain', 'immediate']), 'graceful'),
  reason: z.optional(z.string().check(z.maxLength(500))),
});
const ApproveBody = z.strictObject({
  decision: z._default(z.enum(['approve', 'refuse']), 'approve'),
  reason: z.optional(z.string().check(z.maxLength(500))),
});
const SettingBody = z.strictObject({ key: z.string().check(z.minLength(1)), value: z.unknown() });
const VariableBody = z.strictObject({
  value: z.string(),
  secured: z._default(z.boolean(), false),
  deployment: z.optional(z.string().check(z.minLength(1))),
});

async function body<T>(c: Context, schema: z.ZodMiniType<T>): Promise<T> {
  const text = await c.req.text();
  let json: unknown = {};
  if (text.trim() !== '') {
    try {
      json = JSON.parse(text);
    } catch {
      throw new UsageError('the request body is not JSON');
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data;
}

export function createApi(deps: ApiDeps): Hono<Env> {
  const { core } = deps;
  const app = new Hono<Env>();

  const repositoryOf = (c: Context): string => {
    const repository = c.req.query('repository') ?? deps.defaultRepository;
    if (!repository) throw new UsageError('say which repository: ?repository=WORKSPACE/SLUG');
    return repository;
  };

  /** RUN is a run id, or a build number of the repository. */
  const findRun = async (c: Context): Promise<RunRecord> => {
    const ref = c.req.param('run') ?? '';
    const run = /^\d+$/.test(ref)
      ? await core.getRunByBuildNumber(repositoryOf(c), Number(ref))
      : await core.getRun(ref);
    if (!run) throw new NotFoundError(`no run ${ref}`);
    return run;
  };

  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) =>
    c.json(
      { error: { name: 'NotFound', message: `no route ${c.req.method} ${c.req.path}`, exitCode: 2 } },
      404,
    ),
  );

  app.use('*', async (c, next) => {
    c.set('caller', await deps.authenticate(c));
    await next();
  });

  app.get('/health', (c) => c.json({ ok: true, user: c.get('caller').user, ...deps.health?.() }));

  app.post('/runs', async (c) => {
    const request = await body(c, StartBody);
    const started = await deps.runs.start({
      repository: repositoryOf(c),
      file: request.file,
      variables: request.variables,
      caller: c.get('caller'),
      ...(request.environment ? { environment: request.environment } : {}),
      ...(request.pipeline ? { pipeline: request.pipeline } : {}),
      ...(request.branch ? { branch: request.branch } : {}),
    });
    return c.json(startedRunView(started), 201);
  });

  app.get('/runs', async (c) => {
    const limit = Number(c.req.query('limit') ?? 25);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new UsageError('limit: 1 to 200');
    const cursor = c.req.query('cursor');
    const page = await core.listRuns(repositoryOf(c), { limit, ...(cursor ? { cursor } : {}) });
    return c.json({ ...page, items: page.items.map(runView) } satisfies Views['runs']);
  });

  app.get('/runs/:run', async (c) => c.json({ run: runView(await findRun(c)) } satisfies Views['run']));

  app.get('/runs/:run/steps/:step/log', async (c) => {
    const run = await findRun(c);
    const step = Number(c.req.param('step'));
    if (!run.steps[String(step)])
      throw new NotFoundError(`run ${run.buildNumber} has no step ${c.req.param('step')}`);
    const offset = Number(c.req.query('offset') ?? 0);
    if (!Number.isInteger(offset) || offset < 0) throw new UsageError('offset: a byte offset');
    return c.json((await deps.logs.read(run, step, offset)) satisfies Views['log']);
  });

  app.post('/runs/:run/stop', async (c) => {
    const request = await body(c, StopBody);
    const run = await findRun(c);
    const result = await core.stop({
      runId: run.runId,
      caller: c.get('caller'),
      mode: request.mode as StopMode,
      ...(request.reason ? { reason: request.reason } : {}),
    });
    return c.json(result satisfies Views['stop'], 202);
  });

  app.post('/runs/:run/approve', async (c) => {
    const request = await body(c, ApproveBody);
    const run = await findRun(c);
    const decide = request.decision === 'approve' ? core.approve : core.refuse;
    const decided = await decide({
      runId: run.runId,
      caller: c.get('caller'),
      ...(request.reason ? { reason: request.reason } : {}),
    });
    return c.json(decided satisfies Views['approve']);
  });

  app.get('/locks', async (c) =>
    c.json({ locks: await core.listLocks(repositoryOf(c)) } satisfies Views['locks']),
  );

  app.delete('/locks/:key', async (c) => {
    const unlocked = await core.forceUnlock({
      repository: repositoryOf(c),
      key: c.req.param('key'),
      caller: c.get('caller'),
      ...(c.req.query('reason') ? { reason: c.req.query('reason') } : {}),
    });
    return c.json(unlocked satisfies Views['unlock']);
  });

  app.get('/settings', async (c) =>
    c.json({ settings: settingsView(await core.getSettings(repositoryOf(c))) } satisfies Views['settings']),
  );

  app.put('/settings', async (c) => {
    const request = await body(c, SettingBody);
    await core.setSetting({
      repository: repositoryOf(c),
      caller: c.get('caller'),
      key: request.key,
      value: request.value,
    });
    return c.json({
      settings: settingsView(await core.getSettings(repositoryOf(c))),
    } satisfies Views['settings']);
  });

  const deploymentOf = (c: Context) => {
    const deployment = c.req.query('deployment');
    return deployment ? { deployment } : {};
  };

  app.get('/variables', async (c) =>
    c.json({
      variables: await core.listVariables({ repository: repositoryOf(c), ...deploymentOf(c) }),
    } satisfies Views['variables']),
  );

  // The value travels in the body only: a URL is written to access logs.
  app.put('/variables/:name', async (c) => {
    const request = await body(c, VariableBody);
    const variable = await core.setVariable({
      repository: repositoryOf(c),
      caller: c.get('caller'),
      name: c.req.param('name'),
      value: request.value,
      secured: request.secured,
      ...(request.deployment ? { deployment: request.deployment } : {}),
    });
    return c.json({ variable } satisfies Views['variable']);
  });

  app.delete('/variables/:name', async (c) => {
    const variable = await core.unsetVariable({
      repository: repositoryOf(c),
      caller: c.get('caller'),
      name: c.req.param('name'),
      ...deploymentOf(c),
    });
    return c.json({ variable } satisfies Views['variable']);
  });

  app.get('/environments', async (c) =>
    c.json({ environments: await core.listEnvironments(repositoryOf(c)) } satisfies Views['environments']),
  );

  return app;
}
