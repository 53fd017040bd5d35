// The engine's upkeep (adoption of orphans, lease renewal, housekeeping) runs one piece at a time,
// so two pieces never race over the same run; a failed piece is logged, and the next tick tries it
// again. Once the engine stops, nothing more is started.

export interface Upkeep {
  /** Runs `work` after whatever upkeep is in flight. */
  run(what: string, work: () => Promise<void>): Promise<void>;
  /** Settles once the upkeep in flight has ended. */
  idle(): Promise<void>;
  /** Starts nothing more; `severed`: failures of what is in flight are this engine's own stop. */
  stop(severed: () => boolean): void;
}

export function createUpkeep(): Upkeep {
  let chain = Promise.resolve();
  let stopped = false;
  let severed = () => false;
  return {
    run(what, work) {
      if (stopped) return chain;
      chain = chain.then(work).catch((error) => {
        // A piece cut off by this engine's own stop is not a failure: the next engine does it again.
        if (severed()) return;
        console.error(`finale: ${what} failed:`, error);
      });
      return chain;
    },
    idle: () => chain,
    stop(isSevered) {
      stopped = true;
      severed = isSevered;
    },
  };
}
