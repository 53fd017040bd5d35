// Walking a host's paged list of changed files, for `condition.changesets`. Every host pages the list;
// a list that reaches MAX_CHANGED_FILES may have been cut short by the host, so it counts as unknown
// (every conditional step runs) rather than as the whole change (steps skipped wrongly).

import { HostError } from './host';

/** GitHub lists at most 3000 files of a commit; the same bound keeps every walk within the webhook's 30 s. */
export const MAX_CHANGED_FILES = 3000;
/** Pages of any host; more means a host that pages without end. */
const MAX_PAGES = 30;

interface ChangePage {
  /** Paths on this page; a rename or copy gives both of its paths. */
  readonly paths: readonly (string | null | undefined)[];
  /** The next page's URL, when there is one. */
  readonly next?: string | undefined;
}

/**
 * Every page from `first` on. Undefined when the list is too long to be trusted. A next page on
 * another origin is refused: the host's credentials go with every request.
 */
export async function walkChangePages(
  hostName: string,
  first: string,
  page: (url: string) => Promise<ChangePage>,
): Promise<readonly string[] | undefined> {
  const origin = new URL(first).origin;
  const files = new Set<string>();
  let url: string | undefined = first;
  for (let pages = 0; url !== undefined; pages++) {
    if (pages === MAX_PAGES) return undefined;
    const answer: ChangePage = await page(url);
    for (const path of answer.paths) if (path) files.add(path);
    if (files.size >= MAX_CHANGED_FILES) return undefined;
    if (answer.next !== undefined && new URL(answer.next, url).origin !== origin) {
      throw new HostError(`${hostName} pointed the next page of changed files to another origin`, 0);
    }
    url = answer.next === undefined ? undefined : new URL(answer.next, url).href;
  }
  return [...files];
}
