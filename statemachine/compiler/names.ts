// State names: what the Step Functions console shows, so they are the step names wherever possible.
// ASL requires them unique across the whole definition (branches included) and at most 80 characters.

export const MAX_STATE_NAME = 80;

/** Control characters are not allowed in names; line breaks in a YAML name become spaces. */
function cleanName(name: string): string {
  return name
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Hands out unique state names in call order, so the same pipeline always gets the same names. */
export class StateNames {
  // ASL field names: validators (asl-validator, which the local interpreter runs) search the
  // definition with `$..Next`-style paths, so a state named "Default" would read as a transition.
  private readonly taken = new Set<string>([
    'StartAt',
    'Next',
    'Default',
    'States',
    'Branches',
    'Iterator',
    'ItemProcessor',
    'Parameters',
    'ResultSelector',
  ]);

  /** Reserves fixed names (the run's own states) before any step name can claim them. */
  reserve(...names: string[]): void {
    for (const name of names) this.taken.add(name);
  }

  /** `prefix + subject`, with the subject shortened to fit and a ` (n)` suffix if needed to be unique. */
  claim(prefix: string, subject: string): string {
    const clean = cleanName(subject) || 'Step';
    for (let n = 1; ; n++) {
      const suffix = n === 1 ? '' : ` (${n})`;
      const room = MAX_STATE_NAME - Array.from(prefix).length - Array.from(suffix).length;
      const name = `${prefix}${truncate(clean, room)}${suffix}`;
      if (!this.taken.has(name)) {
        this.taken.add(name);
        return name;
      }
    }
  }
}
