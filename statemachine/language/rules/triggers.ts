// Rules over the file's `triggers`: they run custom pipelines, named as under `pipelines.custom`
// (https://api.bitbucket.org/schemas/pipelines-configuration: "Name of a pipeline defined in the
// custom pipelines section").
import type { PipelineFile } from '../model';
import { nearest } from '../suggest';
import type { RuleContext } from './context';

export function triggerReferences(
  triggers: PipelineFile['triggers'],
  { sink, itemAt, customPipelines }: RuleContext,
): void {
  for (const trigger of triggers) {
    trigger.pipelines.forEach((name, index) => {
      if (customPipelines.has(name)) return;
      const suggestion = nearest(name, [...customPipelines]);
      sink.error(
        itemAt(trigger, 'pipelines', index),
        'trigger-pipeline-unknown',
        `\`${name}\` is not a custom pipeline; a trigger runs pipelines defined under \`pipelines.custom\`${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
      );
    });
  }
}
