// Validated plain values → the typed model, with positions. Runs only on parts the schema accepted,
// so the casts below hold. Keys Finale will not carry out are reported here as warnings.
import type { DiagnosticSink } from './diagnostics';
import type {
  ArtifactSettings,
  ArtifactUpload,
  CacheDefinition,
  ChangesetCondition,
  CloneSettings,
  CustomVariable,
  GlobalOptions,
  ImageRef,
  OnFail,
  Parallel,
  Pipeline,
  PipelineItem,
  PipelineSelector,
  Position,
  ScriptEntry,
  SelectorKind,
  ServiceDefinition,
  Stage,
  Step,
  StepSize,
} from './model';
import type { Path, SourceTree, Value } from './tree';
import { UNSUPPORTED } from './unsupported';

type Mapping = { readonly [key: string]: Value };

export class ModelBuilder {
  /** The mapping each built step and stage came from, so rules can point at one of its keys. */
  readonly #sources = new WeakMap<object, Mapping>();

  constructor(
    private readonly tree: SourceTree,
    private readonly sink: DiagnosticSink,
  ) {}

  /** Where `key` of a built step or stage is written; the object's own position if it has no such key. */
  keyOf(object: { readonly at: Position }, key: string): Position {
    const source = this.#sources.get(object);
    const entry = source && this.tree.entry(source, key);
    return entry?.key ?? object.at;
  }

  itemAt(object: { readonly at: Position }, key: string, index: number): Position {
    const source = this.#sources.get(object);
    const list = source?.[key];
    return (Array.isArray(list) && this.tree.entry(list, index)?.value) || this.keyOf(object, key);
  }

  // --- reading helpers -------------------------------------------------------------------------

  private has(m: Mapping, key: string): boolean {
    return Object.hasOwn(m, key) && m[key] !== null && m[key] !== undefined;
  }

  private text(m: Mapping, key: string): string | undefined {
    return this.has(m, key) ? this.tree.text(m, key) : undefined;
  }

  private texts(m: Mapping, key: string): string[] {
    const list = this.has(m, key) ? (m[key] as Value[]) : [];
    return list.map((_, i) => this.tree.text(list, i));
  }

  private bool(m: Mapping, key: string): boolean | undefined {
    return this.has(m, key) ? (m[key] as boolean) : undefined;
  }

  private num(m: Mapping, key: string): number | undefined {
    return this.has(m, key) ? (m[key] as number) : undefined;
  }

  private keyAt(m: Mapping, key: string): Position {
    const entry = this.tree.entry(m, key);
    return entry?.key ?? entry?.value ?? this.tree.positionOf(m);
  }

  private valueAt(container: unknown, key: string | number): Position {
    return this.tree.entry(container, key)?.value ?? this.tree.positionOf(container);
  }

  private textRecord(m: Mapping, key: string): Record<string, string> {
    const record = this.has(m, key) ? (m[key] as Mapping) : {};
    return Object.fromEntries(
      Object.keys(record).map((k) => [k, record[k] === null ? '' : this.tree.text(record, k)]),
    );
  }

  // --- top level -------------------------------------------------------------------------------

  image(m: Mapping, key: string): ImageRef | undefined {
    if (!this.has(m, key)) return undefined;
    const at = this.valueAt(m, key);
    const value = m[key];
    if (typeof value !== 'object' || value === null) return { name: this.tree.text(m, key), at };
    const image = value as Mapping;
    const aws = this.has(image, 'aws') ? (image.aws as Mapping) : undefined;
    return {
      name: this.tree.text(image, 'name'),
      ...(this.has(image, 'username') && { username: this.text(image, 'username') }),
      ...(this.has(image, 'password') && { password: this.text(image, 'password') }),
      ...(this.has(image, 'email') && { email: this.text(image, 'email') }),
      ...(aws && {
        aws: {
          ...(this.has(aws, 'access-key') && { accessKey: this.text(aws, 'access-key') }),
          ...(this.has(aws, 'secret-key') && { secretKey: this.text(aws, 'secret-key') }),
          ...(this.has(aws, 'oidc-role') && { oidcRole: this.text(aws, 'oidc-role') }),
        },
      }),
      ...(this.has(image, 'run-as-user') && { runAsUser: this.num(image, 'run-as-user') }),
      at,
    };
  }

  clone(m: Mapping, key: string): CloneSettings | undefined {
    if (!this.has(m, key)) return undefined;
    const clone = m[key] as Mapping;
    for (const ignored of ['filter', 'sparse-checkout', 'strategy', 'tags']) {
      if (this.has(clone, ignored)) {
        this.sink.warning(
          this.keyAt(clone, ignored),
          'unsupported-clone-option',
          UNSUPPORTED.cloneOption(ignored),
        );
      }
    }
    const depth = clone.depth;
    return {
      ...(this.has(clone, 'enabled') && { enabled: this.bool(clone, 'enabled') }),
      ...(depth !== null && depth !== undefined && { depth: depth === 'full' ? 'full' : (depth as number) }),
      ...(this.has(clone, 'lfs') && { lfs: this.bool(clone, 'lfs') }),
      ...(this.has(clone, 'skip-ssl-verify') && { skipSslVerify: this.bool(clone, 'skip-ssl-verify') }),
      at: this.keyAt(m, key),
    };
  }

  options(m: Mapping, key: string): GlobalOptions | undefined {
    if (!this.has(m, key)) return undefined;
    const options = m[key] as Mapping;
    if (options.docker === true) {
      this.sink.warning(this.keyAt(options, 'docker'), 'unsupported-docker', UNSUPPORTED.optionsDocker());
    }
    this.runtime(options);
    const runsOn = this.runsOn(options);
    if (runsOn.length > 0) {
      this.sink.warning(this.keyAt(options, 'runs-on'), 'unsupported-runs-on', UNSUPPORTED.runsOn(runsOn));
    }
    return {
      ...(this.has(options, 'max-time') && { maxTime: this.num(options, 'max-time') }),
      ...(this.has(options, 'size') && { size: this.text(options, 'size') as StepSize }),
      ...(this.has(options, 'docker') && { docker: this.bool(options, 'docker') }),
      at: this.keyAt(m, key),
    };
  }

  caches(definitions: Mapping): CacheDefinition[] {
    if (!this.has(definitions, 'caches')) return [];
    const caches = definitions.caches as Mapping;
    return Object.keys(caches).map((name) => {
      const value = caches[name];
      const at = this.keyAt(caches, name);
      if (typeof value !== 'object' || value === null)
        return { name, path: this.tree.text(caches, name), at };
      const cache = value as Mapping;
      const key = this.has(cache, 'key') ? (cache.key as Mapping) : undefined;
      return {
        name,
        path: this.tree.text(cache, 'path'),
        ...(key && { keyFiles: this.texts(key, 'files') }),
        at,
      };
    });
  }

  services(definitions: Mapping): ServiceDefinition[] {
    if (!this.has(definitions, 'services')) return [];
    const services = definitions.services as Mapping;
    return Object.keys(services).map((name) => {
      const service = (services[name] ?? {}) as Mapping;
      return {
        name,
        ...(this.has(service, 'image') && { image: this.image(service, 'image') }),
        ...(this.has(service, 'memory') && { memory: this.num(service, 'memory') }),
        ...(this.has(service, 'type') && { type: this.text(service, 'type') }),
        ...((this.has(service, 'variables') || this.has(service, 'environment')) && {
          variables: { ...this.textRecord(service, 'environment'), ...this.textRecord(service, 'variables') },
        }),
        at: this.keyAt(services, name),
      };
    });
  }

  private runtime(m: Mapping): void {
    if (this.has(m, 'runtime'))
      this.sink.warning(this.keyAt(m, 'runtime'), 'unsupported-runtime', UNSUPPORTED.runtime());
  }

  // --- pipelines -------------------------------------------------------------------------------

  pipeline(container: Mapping, name: string, path: Path, selector: PipelineSelector, key: string): Pipeline {
    const value = container[name];
    const at = this.keyAt(container, name);
    if (!Array.isArray(value)) {
      const from = this.tree.text(value as Mapping, 'import');
      this.sink.warning(at, 'imported-pipeline', UNSUPPORTED.imported(from));
      return { key, selector, items: [], variables: [], importFrom: from, at };
    }
    const items: PipelineItem[] = [];
    const variables: CustomVariable[] = [];
    value.forEach((raw, index) => {
      const item = raw as Mapping;
      const itemPath = [...path, index];
      if (this.has(item, 'variables')) variables.push(...this.variables(item));
      else items.push(this.item(item, itemPath));
    });
    return { key, selector, items, variables, at };
  }

  selector(
    kind: SelectorKind,
    pattern?: string,
    destination?: string,
  ): { selector: PipelineSelector; key: string } {
    const selector: PipelineSelector = {
      kind,
      ...(pattern !== undefined && { pattern }),
      ...(destination !== undefined && { destination }),
    };
    const key =
      kind === 'default'
        ? 'default'
        : `${kind}:${pattern}${destination === undefined ? '' : `:${destination}`}`;
    return { selector, key };
  }

  private variables(item: Mapping): CustomVariable[] {
    const list = item.variables as Value[];
    return list.map((raw, i) => {
      const v = raw as Mapping;
      const allowed = this.has(v, 'allowed-values') ? this.texts(v, 'allowed-values') : undefined;
      return {
        name: this.tree.text(v, 'name'),
        ...(this.has(v, 'default') && { default: this.text(v, 'default') }),
        ...(allowed && { allowedValues: allowed }),
        ...(this.has(v, 'description') && { description: this.text(v, 'description') }),
        at: this.valueAt(list, i),
      };
    });
  }

  private item(item: Mapping, path: Path): PipelineItem {
    if (this.has(item, 'parallel')) return this.parallel(item, [...path, 'parallel']);
    if (this.has(item, 'stage')) return this.stage(item);
    return this.step(item, this.has(item, 'final') ? 'final' : 'step');
  }

  private parallel(item: Mapping, _path: Path): Parallel {
    const value = item.parallel;
    const at = this.keyAt(item, 'parallel');
    const group = Array.isArray(value) ? undefined : (value as Mapping);
    const list = (group ? group.steps : value) as Value[];
    return {
      kind: 'parallel',
      failFast: group ? (this.bool(group, 'fail-fast') ?? false) : false,
      steps: list.map((raw) => {
        const entry = raw as Mapping;
        return this.step(entry, this.has(entry, 'final') ? 'final' : 'step');
      }),
      at,
    };
  }

  private stage(item: Mapping): Stage {
    const stage = item.stage as Mapping;
    const steps = stage.steps as Value[];
    return this.#remember(stage, {
      kind: 'stage',
      ...(this.has(stage, 'name') && { name: this.text(stage, 'name') }),
      ...(this.has(stage, 'deployment') && { deployment: this.text(stage, 'deployment') }),
      trigger: this.text(stage, 'trigger') === 'manual' ? 'manual' : 'automatic',
      ...(this.has(stage, 'condition') && { condition: this.condition(stage) }),
      steps: steps.map((raw) => {
        const entry = raw as Mapping;
        return this.step(entry, this.has(entry, 'final') ? 'final' : 'step');
      }),
      at: this.keyAt(item, 'stage'),
    });
  }

  #remember<T extends object>(source: Mapping, built: T): T {
    this.#sources.set(built, source);
    return built;
  }

  step(item: Mapping, key: 'step' | 'final'): Step {
    const s = item[key] as Mapping;
    const at = this.keyAt(item, key);
    this.runtime(s);
    const runsOn = this.runsOn(s);
    if (runsOn.length > 0)
      this.sink.warning(this.keyAt(s, 'runs-on'), 'unsupported-runs-on', UNSUPPORTED.runsOn(runsOn));
    if (s.oidc === true) this.sink.warning(this.keyAt(s, 'oidc'), 'unsupported-oidc', UNSUPPORTED.oidc());
    const services = this.texts(s, 'services');
    services.forEach((service, i) => {
      const position = this.valueAt(s.services, i);
      if (service === 'docker')
        this.sink.warning(position, 'unsupported-service', UNSUPPORTED.dockerService());
      else this.sink.warning(position, 'unsupported-service', UNSUPPORTED.service(service));
    });
    if (this.texts(s, 'caches').length > 0) {
      this.sink.warning(this.keyAt(s, 'caches'), 'unsupported-caches', UNSUPPORTED.caches());
    }
    const concurrency = this.has(s, 'concurrency') ? (s.concurrency as Mapping) : undefined;
    const concurrencyGroup =
      this.text(s, 'concurrency-group') ?? (concurrency && this.text(concurrency, 'group'));
    const child = s.type === 'pipeline' ? this.child(s) : undefined;
    return this.#remember(s, {
      kind: key,
      ...(this.has(s, 'name') && { name: this.text(s, 'name') }),
      script: this.script(s, 'script'),
      afterScript: this.script(s, 'after-script'),
      ...(this.has(s, 'image') && { image: this.image(s, 'image') }),
      caches: this.texts(s, 'caches'),
      ...(this.has(s, 'artifacts') && { artifacts: this.artifacts(s) }),
      services,
      ...(this.has(s, 'size') && { size: this.text(s, 'size') as StepSize }),
      ...(this.has(s, 'max-time') && { maxTime: this.num(s, 'max-time') }),
      ...(this.has(s, 'deployment') && { deployment: this.text(s, 'deployment') }),
      ...(this.has(s, 'environment') && { environment: this.text(s, 'environment') }),
      ...(concurrencyGroup !== undefined && { concurrencyGroup }),
      trigger: this.text(s, 'trigger') === 'manual' ? 'manual' : 'automatic',
      ...(this.has(s, 'condition') && { condition: this.condition(s) }),
      ...(child && { child }),
      ...(this.has(s, 'oidc') && { oidc: this.bool(s, 'oidc') }),
      runsOn,
      ...(this.has(s, 'clone') && { clone: this.clone(s, 'clone') }),
      ...(this.has(s, 'fail-fast') && { failFast: this.bool(s, 'fail-fast') }),
      ...(this.has(s, 'on-fail') && { onFail: this.onFail(s) }),
      outputVariables: this.texts(s, 'output-variables'),
      at,
    } satisfies Step);
  }

  private child(s: Mapping): Step['child'] {
    const custom = this.text(s, 'custom') ?? '';
    this.sink.warning(this.keyAt(s, 'type'), 'child-pipeline', UNSUPPORTED.childPipeline(custom));
    return { custom, inputVariables: this.textRecord(s, 'input-variables'), at: this.keyAt(s, 'type') };
  }

  private runsOn(s: Mapping): string[] {
    if (!this.has(s, 'runs-on')) return [];
    return Array.isArray(s['runs-on']) ? this.texts(s, 'runs-on') : [this.tree.text(s, 'runs-on')];
  }

  private script(s: Mapping, key: string): ScriptEntry[] {
    if (!this.has(s, key)) return [];
    const list = s[key] as Value[];
    return list.map((raw, i): ScriptEntry => {
      const at = this.valueAt(list, i);
      if (typeof raw !== 'object' || raw === null)
        return { kind: 'command', text: this.tree.text(list, i), at };
      const pipe = raw as Mapping;
      const name = this.tree.text(pipe, 'pipe');
      this.sink.warning(at, 'unsupported-pipe', UNSUPPORTED.pipe(name));
      const variables = this.has(pipe, 'variables') ? (pipe.variables as Mapping) : {};
      return {
        kind: 'pipe',
        pipe: name,
        variables: Object.fromEntries(
          Object.keys(variables).map((k) => {
            const v = variables[k];
            return [
              k,
              Array.isArray(v)
                ? v.map((_, j) => this.tree.text(v, j))
                : v === null
                  ? ''
                  : this.tree.text(variables, k),
            ];
          }),
        ),
        at,
      };
    });
  }

  private artifacts(s: Mapping): ArtifactSettings {
    const at = this.keyAt(s, 'artifacts');
    if (Array.isArray(s.artifacts))
      return { paths: this.texts(s, 'artifacts'), download: true, upload: [], at };
    const a = s.artifacts as Mapping;
    const download = a.download;
    const uploads = (this.has(a, 'upload') ? a.upload : []) as Value[];
    return {
      paths: this.texts(a, 'paths'),
      download: Array.isArray(download) ? this.texts(a, 'download') : download !== false,
      upload: uploads.map((raw): ArtifactUpload => {
        const u = raw as Mapping;
        return {
          name: this.tree.text(u, 'name'),
          paths: this.texts(u, 'paths'),
          ...(this.has(u, 'type') && { type: this.text(u, 'type') }),
          ...(this.has(u, 'depth') && { depth: this.num(u, 'depth') }),
          ...(this.has(u, 'ignore-paths') && { ignorePaths: this.texts(u, 'ignore-paths') }),
          ...(this.has(u, 'capture-on') && { captureOn: this.text(u, 'capture-on') }),
        };
      }),
      at,
    };
  }

  private condition(s: Mapping): ChangesetCondition {
    const condition = s.condition as Mapping;
    if (this.has(condition, 'state')) {
      this.sink.warning(
        this.keyAt(condition, 'state'),
        'unsupported-condition-state',
        UNSUPPORTED.conditionState(),
      );
    }
    const changesets = this.has(condition, 'changesets') ? (condition.changesets as Mapping) : {};
    return {
      includePaths: this.texts(changesets, 'includePaths'),
      excludePaths: this.texts(changesets, 'excludePaths'),
      at: this.keyAt(s, 'condition'),
    };
  }

  private onFail(s: Mapping): OnFail {
    const onFail = s['on-fail'] as Mapping;
    const at = this.keyAt(s, 'on-fail');
    const strategy = this.text(onFail, 'strategy') as 'fail' | 'ignore' | 'retry';
    if (strategy === 'retry') return { strategy, maxRetryCount: this.num(onFail, 'maxRetryCount') ?? 1, at };
    return { strategy, at };
  }
}
