/** Runs async sections one at a time, in call order. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(section);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
