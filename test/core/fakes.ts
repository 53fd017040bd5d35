// Recording fakes for the two ports that differ per engine. Everything else in core tests is real
// (dynalite through the store).

import { taskStopMode } from '../../core/stop';
import type { Store } from '../../store/store';
import type { Orchestrator, StopMode, TaskControl, TaskInspection } from '../../vocabulary/contract';

export type TokenCall =
  | {
      readonly kind: 'success';
      readonly token: string;
      readonly output: unknown;
      readonly result: 'ok' | 'gone';
    }
  | {
      readonly kind: 'failure';
      readonly token: string;
      readonly error: string;
      readonly cause: string;
      readonly result: 'ok' | 'gone';
    };

/**
 * Step Functions' task tokens: each can be completed once; completing it again, or completing a
 * token marked gone (its wait state timed out), answers 'gone' as TaskTimedOut would.
 */
export class FakeOrchestrator implements Orchestrator {
  readonly calls: TokenCall[] = [];
  private readonly closed = new Set<string>();
  private readonly listeners = new Map<string, (output: unknown) => void>();
  private readonly interceptors = new Map<string, () => Promise<void>>();

  /** The token's wait state ended: SendTask* will answer 'gone'. */
  expire(token: string): void {
    this.closed.add(token);
  }

  /** Called (synchronously, in the sender's call) when the token is resumed successfully. */
  onSuccess(token: string, listener: (output: unknown) => void): void {
    this.listeners.set(token, listener);
  }

  /** Runs `action` inside the next SendTask* call for the token, before it answers (to stage races). */
  intercept(token: string, action: () => Promise<void>): void {
    this.interceptors.set(token, action);
  }

  private async interceptFor(token: string): Promise<void> {
    const action = this.interceptors.get(token);
    this.interceptors.delete(token);
    await action?.();
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<'ok' | 'gone'> {
    await this.interceptFor(token);
    const result = this.closed.has(token) ? 'gone' : 'ok';
    this.closed.add(token);
    this.calls.push({ kind: 'success', token, output, result });
    if (result === 'ok') this.listeners.get(token)?.(output);
    return result;
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<'ok' | 'gone'> {
    await this.interceptFor(token);
    const result = this.closed.has(token) ? 'gone' : 'ok';
    this.closed.add(token);
    this.calls.push({ kind: 'failure', token, error, cause, result });
    return result;
  }

  successes(token?: string) {
    return this.calls.filter(
      (call): call is Extract<TokenCall, { kind: 'success' }> =>
        call.kind === 'success' && (token === undefined || call.token === token),
    );
  }

  failures(token?: string) {
    return this.calls.filter(
      (call): call is Extract<TokenCall, { kind: 'failure' }> =>
        call.kind === 'failure' && (token === undefined || call.token === token),
    );
  }
}

export interface StopCall {
  readonly taskId: string;
  readonly mode: Exclude<StopMode, 'drain'>;
  readonly reason: string;
}

export class FakeTasks implements TaskControl {
  readonly calls: StopCall[] = [];
  /** What inspectTask answers, per step index (default: gone). */
  readonly inspections = new Map<number, TaskInspection>();
  /** `runs`: where the step's side reads the stop record, as the agent and the process runner do. */
  constructor(private readonly runs?: Pick<Store['runs'], 'get'>) {}

  async stopTask(ref: { runId: string; taskId: string }, reason: string): Promise<void> {
    const mode = taskStopMode(await this.runs?.get(ref.runId));
    this.calls.push({ taskId: ref.taskId, mode, reason });
  }
  async inspectTask(ref: { runId: string; step: number }): Promise<TaskInspection> {
    return this.inspections.get(ref.step) ?? { state: 'gone' };
  }
  readonly told: { readonly step: number; readonly taskId?: string; readonly message: string }[] = [];
  async tell(ref: { runId: string; step: number; taskId?: string }, message: string): Promise<void> {
    this.told.push({ step: ref.step, ...(ref.taskId ? { taskId: ref.taskId } : {}), message });
  }
}
