// Containing a step the way a container does, on a machine where steps run as local processes: the
// supervisor starts as PID 1 of a PID namespace of its own (`unshare`), with its own /proc. It then
// knows every process of the step — whatever it did to leave its process group — waits for all of
// them during a stop, and takes them all down with it when it exits (the kernel kills a namespace
// whose init is gone). On Fargate the step container is that namespace already.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A command prefix that starts a program as PID 1 of a new PID namespace, or none. */
export interface Containment {
  readonly prefix: readonly string[];
  /** One sentence for the run's notices. */
  readonly description: string;
}

const NAMESPACE = ['--pid', '--fork', '--kill-child', '--mount-proc'];

/** The variants tried, in order: a plain PID namespace needs root; a user namespace does not. */
function candidates(root: boolean): readonly (readonly string[])[] {
  const userNamespace = [
    // The step keeps the user's own uid: files it writes are the user's, and tools that refuse
    // to run as root still run.
    ['--user', '--map-current-user'],
    ['--user', '--map-root-user'],
  ];
  return root ? [[], ...userNamespace] : userNamespace;
}

let probed: Containment | null | undefined;

/**
 * What this machine offers, probed once per process: `unshare` (util-linux) starting a shell that
 * sees itself as PID 1. null where there is none (not Linux, no util-linux, namespaces forbidden).
 */
export function detectContainment(): Containment | null {
  if (probed !== undefined) return probed;
  probed = null;
  // By absolute path: a step's PATH (busybox's, say) may hold an unshare of another kind.
  const unshare = process.platform === 'linux' ? onPath('unshare') : undefined;
  if (!unshare) return probed;
  for (const extra of candidates(process.getuid?.() === 0)) {
    const prefix = [unshare, ...NAMESPACE, ...extra];
    const probe = spawnSync(prefix[0]!, [...prefix.slice(1), '/bin/sh', '-c', 'test "$$" = 1'], {
      stdio: 'ignore',
      timeout: 5000,
    });
    if (probe.status === 0) {
      probed = {
        prefix,
        description: `each step runs as its own PID namespace (${prefix.join(' ')})`,
      };
      break;
    }
  }
  return probed;
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir || '.', command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** Said once per run where steps cannot be contained. */
export const UNCONTAINED_NOTICE =
  'this machine cannot give a step a PID namespace of its own (no usable `unshare`): a process a step ' +
  'starts with setsid or nohup may outlive it, and a stop waits only for the processes of its process group';

/**
 * The one child of `pid` (the supervisor, when `pid` is the `unshare` that started it, as seen from
 * outside its namespace); undefined until it has forked, or once it has gone.
 */
export function childOf(pid: number): number | undefined {
  let listed: string;
  try {
    listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: look for the process whose parent is `pid`.
    return childByScan(pid);
  }
  return listed ? Number(listed.split(/\s+/)[0]) : undefined;
}

function childByScan(pid: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid …; comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) return Number(entry);
  }
  return undefined;
}
