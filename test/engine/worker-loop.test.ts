import { describe, expect, it } from 'vitest';
import { WorkerLoop } from '../../src/jobs/loop.js';
import { sleep } from '../../src/shared/sleep.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('WorkerLoop', () => {
  it('stop() lets the running iteration finish, starts no new one, then runs onStop once', async () => {
    const gate = deferred();
    const events: string[] = [];
    const loop = new WorkerLoop({
      name: 'test',
      idleDelayMs: 0,
      iterate: async () => {
        events.push('begin');
        await gate.promise;
        events.push('end');
      },
      onStop: async () => {
        events.push('onStop');
      },
    });
    loop.start();
    await expect.poll(() => events).toEqual(['begin']);
    const stopped = Promise.all([loop.stop(), loop.stop()]);
    gate.resolve();
    await stopped;
    expect(events).toEqual(['begin', 'end', 'onStop']);
    expect(loop.running).toBe(false);
  });

  it('stop() cuts a long idle sleep short', async () => {
    let iterations = 0;
    const loop = new WorkerLoop({
      name: 'test',
      idleDelayMs: 600_000,
      iterate: async () => void iterations++,
    });
    loop.start();
    await expect.poll(() => iterations).toBe(1);
    const t0 = performance.now();
    await loop.stop();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(iterations).toBe(1);
  });

  it('an iteration that throws is logged with the worker name and the loop carries on', async () => {
    const logged: Record<string, unknown>[] = [];
    let n = 0;
    const loop = new WorkerLoop({
      name: 'flaky',
      idleDelayMs: 1,
      errorDelayMs: 1,
      logger: { error: (obj) => logged.push(obj) },
      iterate: async () => {
        n++;
        if (n === 1) throw Object.assign(new Error('ledger busy'), { code: 'SQLITE_BUSY' });
      },
    });
    loop.start();
    await expect.poll(() => n).toBeGreaterThanOrEqual(3);
    await loop.stop();
    expect(loop.failures).toBe(1);
    expect(logged[0]).toMatchObject({
      worker: 'flaky',
      err: { message: 'ledger busy', code: 'SQLITE_BUSY' },
    });
  });

  it('an iteration that reports more work runs again without sleeping', async () => {
    let n = 0;
    const loop = new WorkerLoop({ name: 'busy', idleDelayMs: 600_000, iterate: async () => ++n < 5 });
    loop.start();
    await expect.poll(() => n).toBe(5);
    await loop.stop();
  });

  it('wake() starts the next iteration now instead of after the idle delay', async () => {
    let n = 0;
    const loop = new WorkerLoop({ name: 'idle', idleDelayMs: 600_000, iterate: async () => void n++ });
    loop.start();
    await expect.poll(() => n).toBe(1);
    loop.wake();
    await expect.poll(() => n).toBe(2);
    await loop.stop();
  });
});

describe('sleep', () => {
  it('resolves when its signal aborts', async () => {
    const ac = new AbortController();
    const slept = sleep(600_000, ac.signal);
    ac.abort();
    await expect(slept).resolves.toBeUndefined();
  });
});
