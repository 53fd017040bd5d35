// The engine's upkeep: one piece at a time, a failure logged and the next piece still run, nothing
// started once the engine stops.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createUpkeep } from '../../local/upkeep';

afterEach(() => vi.restoreAllMocks());

describe('upkeep', () => {
  it('runs pieces one after another, never two at once', async () => {
    const upkeep = createUpkeep();
    const order: string[] = [];
    let running = 0;
    const piece = (name: string) => async () => {
      running++;
      expect(running).toBe(1);
      order.push(`${name} start`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(`${name} end`);
      running--;
    };
    void upkeep.run('a', piece('a'));
    void upkeep.run('b', piece('b'));
    await upkeep.run('c', piece('c'));
    expect(order).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('logs a failed piece with what it was, and goes on with the next', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const upkeep = createUpkeep();
    void upkeep.run('lease renewal', async () => {
      throw new Error('table unreachable');
    });
    let ran = false;
    await upkeep.run('adoption', async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(logged).toHaveBeenCalledWith(
      'finale: lease renewal failed:',
      expect.objectContaining({ message: 'table unreachable' }),
    );
  });

  it('starts nothing once stopped, and says nothing of pieces its own stop cut off', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const upkeep = createUpkeep();
    let release!: () => void;
    const cut = upkeep.run(
      'housekeeping',
      () =>
        new Promise<void>((_, reject) => {
          release = () => reject(new Error('this engine has stopped'));
        }),
    );
    upkeep.stop(() => true);
    let ran = false;
    void upkeep.run('adoption', async () => {
      ran = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 0));
    release();
    await cut;
    await upkeep.idle();
    expect(ran).toBe(false);
    expect(logged).not.toHaveBeenCalled();
  });
});
