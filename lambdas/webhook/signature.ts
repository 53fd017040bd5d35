// HMAC-SHA256 webhook signatures (`sha256=<hex>`), compared in constant time over the raw body.

import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sha256=';

export function sign(body: Buffer | string, secret: string): string {
  return PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/** true only for a well-formed signature of exactly this body with this secret. */
export function verifySignature(body: Buffer, signature: string | undefined, secret: string): boolean {
  if (!signature?.startsWith(PREFIX) || secret === '') return false;
  const given = Buffer.from(signature.slice(PREFIX.length).trim().toLowerCase(), 'utf8');
  const expected = Buffer.from(sign(body, secret).slice(PREFIX.length), 'utf8');
  // Lengths are public (always 64 hex digits); only equal-length buffers can be compared in constant time.
  return given.length === expected.length && timingSafeEqual(given, expected);
}
