import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('graph')
    .description('Print a readable outline of the state machine a pipeline compiles to')
    .argument(
      '[pipeline]',
      'a pipeline key: default, branches:main, custom:deploy, …; default: what a push of the current branch runs',
    )
    .option('-f, --file <path>', 'the pipeline file', 'bitbucket-pipelines.yml')
    .addHelpText(
      'after',
      '\nExit codes: 0 compiled, 1 invalid file or no such pipeline, 2 usage or unreadable file.',
    )
    .action(async (key: string | undefined, options: { file: string }) => {
      const { choosePipeline } = await import('../pipeline-choice');
      const { compile, renderGraph } = await import('../../statemachine/compiler/index');
      const { file, pipeline } = await choosePipeline(options.file, key);
      process.stdout.write(renderGraph(compile({ file, pipeline })));
    });
}
