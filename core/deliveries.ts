// Webhook deliveries seen: a delivery (and each run it starts) is handled once, and forgotten when
// handling it failed, so the host's redelivery is handled again and nothing is lost.

import type { CoreDeps } from './deps';

/** True when `key` is new (and is now remembered for `ttlSeconds`); false when it was seen. */
export function markDeliverySeen(
  key: string,
  ttlSeconds: number,
  deps: Pick<CoreDeps, 'store'>,
): Promise<boolean> {
  return deps.store.deliveries.markSeen(key, ttlSeconds);
}

export function forgetDelivery(key: string, deps: Pick<CoreDeps, 'store'>): Promise<void> {
  return deps.store.deliveries.forget(key);
}
