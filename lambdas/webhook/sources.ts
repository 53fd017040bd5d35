// Where a delivery comes from, told by its headers: each source names its event, its delivery id and
// its signature header differently.

import type { HostKind } from '../../repository-hosts/host';
import { type HttpApiEvent, header } from '../http';

export type WebhookSource = HostKind;

interface Delivery {
  readonly source: WebhookSource;
  /** `repo:push`, `repo:refs_changed`, `push`, `pull_request`, … */
  readonly event: string;
  readonly deliveryId: string | undefined;
  readonly signature: string | undefined;
}

/** Event keys only Data Center sends (Cloud's keys are `repo:push`, `pullrequest:*`). */
const DATA_CENTER_EVENT = /^(repo:refs_changed|repo:modified|pr:|diagnostics:ping|mirror:)/;

export function deliveryOf(event: HttpApiEvent): Delivery | undefined {
  const github = header(event, 'x-github-event');
  if (github) {
    return {
      source: 'github',
      event: github,
      deliveryId: header(event, 'x-github-delivery'),
      signature: header(event, 'x-hub-signature-256'),
    };
  }
  const key = header(event, 'x-event-key');
  if (!key) return undefined;
  const cloudId = header(event, 'x-request-uuid');
  const dataCenterId = header(event, 'x-request-id');
  const dataCenter = DATA_CENTER_EVENT.test(key) || (!cloudId && dataCenterId !== undefined);
  return {
    source: dataCenter ? 'bitbucket-data-center' : 'bitbucket-cloud',
    event: key,
    deliveryId: dataCenter ? dataCenterId : cloudId,
    signature: header(event, 'x-hub-signature'),
  };
}

export const SOURCE_NAMES: Record<WebhookSource, string> = {
  'bitbucket-cloud': 'Bitbucket Cloud',
  'bitbucket-data-center': 'Bitbucket Data Center',
  github: 'GitHub',
};
