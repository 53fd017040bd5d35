import { createHash } from 'node:crypto';

/** Plans are built with a fixed key order, so their JSON text is canonical and its hash stable. */
export function hashPlan(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}
