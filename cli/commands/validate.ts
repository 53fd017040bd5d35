import type { Command } from 'commander';
import type { Diagnostic } from '../../statemachine/language/model';
import { FinaleError } from '../../vocabulary/errors';
import { out } from '../output';
import { plural, printDiagnostics } from './diagnostics';

interface FileReport {
  readonly file: string;
  readonly valid: boolean;
  readonly diagnostics: readonly Diagnostic[];
  /** Set when the file could not be read at all (exit 2). */
  readonly error?: string;
}

// Files are read a few at a time: enough to overlap I/O, few enough to bound memory (1 MB each).
const CONCURRENCY = 8;

async function validateAll(files: readonly string[]): Promise<FileReport[]> {
  const { readPipelineFile } = await import('../../statemachine/language/read');
  const reports: FileReport[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const index = next++;
      const file = files[index] as string;
      try {
        const result = await readPipelineFile(file);
        reports[index] = { file, valid: result.ok, diagnostics: result.diagnostics };
      } catch (error) {
        if (!(error instanceof FinaleError)) throw error;
        reports[index] = { file, valid: false, diagnostics: [], error: error.message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
  return reports;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('Check bitbucket-pipelines.yml files: every error at once, as FILE:LINE:COL: message')
    .argument('[files...]', 'files to check', ['bitbucket-pipelines.yml'])
    .option('--json', 'print one JSON report on stdout instead of text')
    .addHelpText(
      'after',
      '\nExit codes: 0 all files valid (warnings go to stderr), 1 a file is invalid, 2 a file cannot be read.',
    )
    .action(async (files: string[], options: { json?: boolean }) => {
      const reports = await validateAll(files);
      const unreadable = reports.some((r) => r.error !== undefined);
      const invalid = reports.some((r) => !r.valid);
      process.exitCode = unreadable ? 2 : invalid ? 1 : 0;
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ valid: !invalid, files: reports }, null, 2)}\n`);
        return;
      }
      for (const report of reports) {
        if (report.error !== undefined) {
          process.stderr.write(`finale: ${report.error}\n`);
          continue;
        }
        printDiagnostics(report.diagnostics);
        const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
        const warnings = report.diagnostics.length - errors;
        const counts = [errors && plural(errors, 'error'), warnings && plural(warnings, 'warning')].filter(
          Boolean,
        );
        const status = report.valid ? out.green('valid') : out.red('invalid');
        process.stdout.write(`${report.file}: ${status}${counts.length ? ` (${counts.join(', ')})` : ''}\n`);
      }
    });
}
