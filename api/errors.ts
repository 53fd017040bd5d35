// Errors to HTTP answers, in one place. The body carries the name and the CLI exit code, so the
// CLI reports the same thing whichever engine answered.

import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { InvalidPipelineError, NoPipelineError } from '../core/start';
import { FinaleError } from '../vocabulary/errors';

/** The request carried no valid identity or token. */
export class UnauthorizedError extends FinaleError {
  constructor(message: string) {
    super(message, { name: 'Unauthorized', exitCode: 2 });
  }
}

const STATUS: Record<string, ContentfulStatusCode> = {
  Unauthorized: 401,
  NotAllowed: 403,
  NotFound: 404,
  RunState: 409,
  Contention: 409,
  InvalidSetting: 400,
  InvalidVariable: 400,
  UsageError: 400,
  InvalidPipeline: 422,
  NoPipeline: 422,
};

export interface ErrorBody {
  readonly error: {
    readonly name: string;
    readonly message: string;
    readonly exitCode: number;
    readonly diagnostics?: unknown;
    readonly errors?: readonly string[];
  };
}

export function errorResponse(c: Context, error: unknown): Response {
  if (!(error instanceof FinaleError)) {
    console.error(error);
    const body: ErrorBody = {
      error: { name: 'Internal', message: 'internal error (see the server log)', exitCode: 1 },
    };
    return c.json(body, 500);
  }
  const body: ErrorBody = {
    error: {
      name: error.name,
      message: error.message,
      exitCode: error.exitCode,
      ...(error instanceof InvalidPipelineError ? { diagnostics: error.diagnostics } : {}),
      ...(error instanceof NoPipelineError ? { errors: error.errors } : {}),
    },
  };
  return c.json(body, STATUS[error.name] ?? 400);
}
