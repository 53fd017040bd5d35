// Bitbucket pipes are Docker images run with the pipe's variables. Finale has no pipe runner of its
// own; this is how a pipe entry becomes one shell command, for the compiler and for messages.
import type { ScriptEntry } from './model';

type PipeEntry = Extract<ScriptEntry, { kind: 'pipe' }>;

/**
 * The image a pipe runs: `docker://image` names it directly; `atlassian/<name>:<version>` pipes are
 * published as `bitbucketpipelines/<name>:<version>`; other `owner/name:version` pipes as themselves.
 */
export function pipeImage(pipe: string): string {
  if (pipe.startsWith('docker://')) return pipe.slice('docker://'.length);
  if (pipe.startsWith('atlassian/')) return `bitbucketpipelines/${pipe.slice('atlassian/'.length)}`;
  return pipe;
}

/** `docker run --rm` of the pipe image with its variables, working in the clone directory. */
export function pipeCommand(entry: PipeEntry): string {
  const args = ['docker', 'run', '--rm', '-v', '"$BITBUCKET_CLONE_DIR:$BITBUCKET_CLONE_DIR"', '-w'];
  args.push('"$BITBUCKET_CLONE_DIR"');
  for (const [name, value] of Object.entries(entry.variables)) {
    const text = Array.isArray(value) ? value.map(String).join(',') : value == null ? '' : String(value);
    args.push('-e', shellQuote(`${name}=${text}`));
  }
  args.push(shellQuote(pipeImage(entry.pipe)));
  return args.join(' ');
}

// Double quotes keep `$VAR` references working, as they do in Bitbucket's pipe variables.
function shellQuote(text: string): string {
  return `"${text.replace(/(["\\`])/g, '\\$1')}"`;
}
