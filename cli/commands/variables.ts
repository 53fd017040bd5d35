import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { VARIABLE_LIMITS } from '../../core/variable-rules';
import { UsageError } from '../../vocabulary/errors';
import { connect } from '../client';
import { out } from '../output';

interface ScopeOptions {
  readonly deployment?: string;
}

const scopeText = (deployment: string | undefined) =>
  deployment === undefined ? 'repository variable' : `deployment variable of ${deployment}`;

/**
 * The value of `variables set`: piped in (one trailing newline dropped, as `echo` adds it), or typed
 * at a prompt that does not echo a secured value. Never an argument for a secured one: arguments
 * land in shell history and in every process listing.
 */
async function readValue(name: string, secured: boolean): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const prompt = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const asked = prompt.question(`Value of ${name}${secured ? ' (not shown)' : ''}: `);
    muted = secured;
    return await asked;
  } finally {
    muted = false;
    prompt.close();
    if (secured) process.stderr.write('\n');
  }
}

export function register(program: Command): void {
  const variables = program
    .command('variables')
    .description(
      'List, set or unset repository and deployment variables (changes are admin-only once admins exist, and audited)',
    )
    .option('--deployment <environment>', "only that deployment environment's variables")
    .option('--json', 'print JSON')
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Precedence (later wins): the environment finale run was started from (local runs), repository
variables, deployment variables of the step's environment, custom pipeline variables (--var), output
variables of earlier steps; Bitbucket's default variables (BITBUCKET_*, CI) cannot be overridden.
Secured values are write-only: never shown again, masked as $NAME in every log.
Exit codes: 0 done, 2 invalid name or value or unknown environment, 3 not an admin, 4 no such variable.`,
    )
    .action(async (options: ScopeOptions & { json?: boolean }) => {
      const list = await (await connect()).variables(options.deployment);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return;
      }
      if (list.length === 0) {
        process.stdout.write(
          `No ${options.deployment ? `variables for ${options.deployment}` : 'variables'} yet; add one with \`finale variables set NAME${options.deployment ? ` --deployment ${options.deployment}` : ''}\`.\n`,
        );
        return;
      }
      const width = Math.max(...list.map((variable) => variable.name.length));
      for (const variable of list) {
        const where = variable.deployment ? out.dim(` (${variable.deployment})`) : '';
        const value = variable.secured ? out.dim('•••••• secured') : (variable.value ?? '');
        process.stdout.write(`${variable.name.padEnd(width)}  ${value}${where}\n`);
      }
    });

  variables
    .command('set')
    .description('Create or replace a variable; its value is read from stdin, or asked for')
    .argument('<name>', 'letters, digits and underscores, not starting with a digit')
    .argument('[value]', 'a plain value (a secured value is never taken from the command line)')
    .option('--secured', 'write-only and masked in every log')
    .option('--deployment <environment>', 'a deployment variable of that environment')
    .addHelpText(
      'after',
      `
  printf %s "$TOKEN" | finale variables set NPM_TOKEN --secured
  finale variables set API_URL https://staging.example.com --deployment staging
A value holds at most ${VARIABLE_LIMITS.valueBytes} bytes; a secured one at least ${VARIABLE_LIMITS.securedMinLength} characters.`,
    )
    .action(
      async (name: string, given: string | undefined, options: ScopeOptions & { secured?: boolean }) => {
        const secured = options.secured === true;
        if (secured && given !== undefined) {
          throw new UsageError(
            `a secured value is never taken from the command line (it would stay in your shell history); pipe it in: printf %s "$VALUE" | finale variables set ${name} --secured`,
          );
        }
        const value = given ?? (await readValue(name, secured));
        const variable = await (await connect()).setVariable(name, {
          value,
          secured,
          ...(options.deployment ? { deployment: options.deployment } : {}),
        });
        process.stdout.write(
          `Set ${scopeText(variable.deployment)} ${variable.name}${variable.secured ? ' (secured: it will not be shown again)' : ''}.\n`,
        );
      },
    );

  variables
    .command('unset')
    .description('Remove a variable')
    .argument('<name>')
    .option('--deployment <environment>', 'a deployment variable of that environment')
    .action(async (name: string, options: ScopeOptions) => {
      const variable = await (await connect()).unsetVariable(name, options.deployment);
      process.stdout.write(`Removed ${scopeText(variable.deployment)} ${variable.name}.\n`);
    });

  program
    .command('environments')
    .description('List the deployment environments the pipelines name, and how many variables each has')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const environments = await (await connect()).environments();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(environments, null, 2)}\n`);
        return;
      }
      if (environments.length === 0) {
        process.stdout.write('No deployment environments yet: no pipeline has a step with `deployment:`.\n');
        return;
      }
      for (const environment of environments) {
        const count = `${environment.variables} variable${environment.variables === 1 ? '' : 's'}`;
        process.stdout.write(`${environment.name}  ${out.dim(count)}\n`);
      }
    });
}
