// The fault simulation (simulation/): a fixed-seed sample holds every invariant, with simulated and
// real step processes, and the checker finds what a broken engine does (it can fail).

import { describe, expect, it } from 'vitest';
import type { Core } from '../../core/index';
import type { StepTaskRequest } from '../../local/engine';
import { type Observation, playSchedule } from '../../simulation/driver';
import { checkInvariants } from '../../simulation/invariants';
import { isReal } from '../../simulation/main';
import { scheduleSeed } from '../../simulation/random';
import { markerName } from '../../simulation/real';
import { SimulatedRunner } from '../../simulation/runner';
import { generateSchedule, SCALE, type Schedule } from '../../simulation/scenario';

const SEED = 20261202;

/** The first schedules of the seed that satisfy `wanted`. */
function schedules(count: number, wanted: (schedule: Schedule) => boolean, real = false): Schedule[] {
  const found: Schedule[] = [];
  for (let i = 0; found.length < count; i++) {
    const schedule = generateSchedule(scheduleSeed(SEED, i), { real });
    if (wanted(schedule)) found.push(schedule);
  }
  return found;
}

const quiet = (schedule: Schedule) =>
  schedule.events.length === 0 && schedule.pipelines.every((pipeline) => pipeline.final);

describe('the fault simulation', () => {
  it('runs exactly the real share of schedules with real processes, spread evenly', () => {
    const real = (share: number, count: number) =>
      Array.from({ length: count }, (_, i) => i).filter((i) => isReal(i, share));
    expect(real(0.05, 10_000)).toHaveLength(500);
    expect(real(0.05, 40)).toEqual([19, 39]);
    expect(real(1, 3)).toEqual([0, 1, 2]);
    expect(real(0, 100)).toEqual([]);
  });

  it('draws the same schedule from the same seed', () => {
    expect(generateSchedule(scheduleSeed(SEED, 7))).toEqual(generateSchedule(scheduleSeed(SEED, 7)));
    expect(generateSchedule(scheduleSeed(SEED, 7))).not.toEqual(generateSchedule(scheduleSeed(SEED, 8)));
  });

  it('a sample of simulated schedules holds every invariant, engine deaths and stops included', async () => {
    const sample = schedules(20, (schedule) => !schedule.real);
    // The sample has the faults it is meant to test.
    const kinds = new Set(sample.flatMap((schedule) => schedule.events.map((event) => event.kind)));
    expect([...kinds].sort()).toEqual(['approve', 'crash', 'kill-step', 'refuse', 'stop']);
    for (const schedule of sample) {
      const violations = checkInvariants(await playSchedule(schedule));
      expect(violations, `seed ${schedule.seed}`).toEqual([]);
    }
  }, 120_000);

  it('schedules with the real supervisor and real child trees hold every invariant', async () => {
    const sample = schedules(3, (schedule) => schedule.events.length > 0, true);
    let markers = 0;
    for (const schedule of sample) {
      expect(schedule.real).toBe(true);
      const observation = await playSchedule(schedule);
      // A schedule may stop its only run before a step wrote a line (CI once was that slow), so
      // the sample as a whole shows real processes ran; the invariants check each successful step's.
      markers += Object.keys(observation.markers).length;
      expect(checkInvariants(observation), `seed ${schedule.seed}`).toEqual([]);
    }
    expect(markers).toBeGreaterThan(0);
  }, 120_000);
});

/** A broken engine: it starts the final step's task a second time after the first has finished. */
class FinalTwice extends SimulatedRunner {
  private finalIndex = new Map<string, number>();
  private attached?: Core;

  override attach(core: Core): void {
    this.attached = core;
    super.attach(core);
  }

  override async run(request: StepTaskRequest): Promise<unknown> {
    const first = await super.run(request);
    const plan = await this.attached!.getPlan(request.planHash);
    const spec = plan.steps[request.step]!;
    if (spec.kind !== 'final' || this.finalIndex.has(request.runId)) return first;
    this.finalIndex.set(request.runId, request.step);
    return super.run(request);
  }
}

describe('the invariant checker', () => {
  let observation: Observation;
  const play = async () => {
    observation ??= await playSchedule(schedules(1, quiet)[0]!);
    return observation;
  };

  it('finds a final step that ran again after it finished', async () => {
    // A final step that fails ends its task with States.TaskFailed, before FinalTwice could run it again.
    const [schedule] = schedules(
      1,
      (candidate) =>
        quiet(candidate) &&
        candidate.pipelines.every((pipeline) => pipeline.final?.behaviour.exitCodes[0] === 0),
    );
    const broken = await playSchedule(schedule!, {
      runner: (world, behaviourOf) => new FinalTwice(world, behaviourOf, SCALE.minuteSeconds),
    });
    expect(checkInvariants(broken).map((violation) => violation.detail)).toContain(
      'attempt 1 finished, and yet the final step ran again',
    );
  }, 30_000);

  it('finds a lock held by two runs at once, and a lock left taken', async () => {
    const clean = await play();
    expect(checkInvariants(clean)).toEqual([]);
    const world = clean.world!;
    world.intervals.push(
      { runId: 'a', step: 0, locks: ['deployment:production'], from: 10, to: 20 },
      { runId: 'b', step: 0, locks: ['deployment:production'], from: 15, to: 25 },
    );
    const locks = [
      { key: 'deployment:production', holder: { runId: 'a' }, waiters: [] },
    ] as unknown as Observation['locks'];
    const details = checkInvariants({ ...clean, locks }).map((violation) => violation.detail);
    world.intervals.splice(-2);
    expect(details[0]).toMatch(/^deployment:production was held by runs #undefined and #undefined at once$/);
    expect(details[1]).toMatch(/^deployment:production is not free at rest/);
  }, 30_000);

  it('finds a step recorded successful whose real script did not reach its end', async () => {
    // The records read as a real schedule's, whose marker files say the step's script never ended.
    const { world: _simulated, ...clean } = await play();
    const run = clean.runs[0]!;
    const step = Object.values(run.steps).find((candidate) => candidate.kind === 'step')!;
    const succeeded = {
      ...run,
      steps: { ...run.steps, [step.index]: { ...step, status: 'SUCCESSFUL' as const } },
    };
    const markers = { [`${run.buildNumber}-${markerName(step.name)}`]: ['start 1'] };
    const details = checkInvariants({ ...clean, runs: [succeeded], markers }).map(
      (violation) => violation.detail,
    );
    expect(details).toContain(`"${step.name}" is SUCCESSFUL; its script wrote ["start 1"]`);
  }, 30_000);

  it('finds a run whose status its events do not explain, a client that saw another, and leftovers', async () => {
    const clean = await play();
    const [run] = clean.runs;
    const wrong = { ...run!, status: 'STOPPED' as const };
    const clients = new Map([[run!.runId, { status: run!.status, exitCode: 0 }]]);
    const found = checkInvariants({ ...clean, runs: [wrong], clients, leftovers: 2 });
    expect(found.map((violation) => violation.invariant)).toEqual(
      expect.arrayContaining(['status', 'client', 'processes']),
    );
  }, 30_000);
});
