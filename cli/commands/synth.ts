import type { Command } from 'commander';

interface SynthOptions {
  file: string;
  plan?: boolean;
}

export function register(program: Command): void {
  program
    .command('synth')
    .description('Print the Step Functions definition (ASL JSON) a pipeline compiles to')
    .argument(
      '[pipeline]',
      'a pipeline key: default, branches:main, custom:deploy, …; default: what a push of the current branch runs',
    )
    .option('-f, --file <path>', 'the pipeline file', 'bitbucket-pipelines.yml')
    .option('--plan', 'print the whole plan: the definition, the step specs, the locks and the figures')
    .addHelpText(
      'after',
      '\nExit codes: 0 compiled, 1 invalid file or no such pipeline, 2 usage or unreadable file.',
    )
    .action(async (key: string | undefined, options: SynthOptions) => {
      const { choosePipeline } = await import('../pipeline-choice');
      const { compile } = await import('../../statemachine/compiler/index');
      const { file, pipeline } = await choosePipeline(options.file, key);
      const plan = compile({ file, pipeline });
      process.stdout.write(`${JSON.stringify(options.plan ? plan : plan.definition, null, 2)}\n`);
    });
}
