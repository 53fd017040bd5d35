// The parts of API Gateway's HTTP API events (payload format 2.0) that the handlers read.

export interface HttpApiEvent {
  readonly rawPath?: string;
  /** Lower-cased header names (payload 2.0). */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: {
    readonly http?: { readonly method?: string; readonly path?: string };
    readonly authorizer?: { readonly iam?: { readonly userArn?: string } };
  };
}

export interface HttpApiResult {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function json(statusCode: number, body: unknown): HttpApiResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The raw request body as sent: API Gateway base64-encodes bodies it does not consider text. */
export function rawBody(event: HttpApiEvent): Buffer {
  if (event.body === undefined) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/** Header lookup that does not trust the sender's case (payload 2.0 lower-cases, tests may not). */
export function header(event: HttpApiEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}
