/**
 * A push-to-pull async iterator: producers `push` values, one consumer pulls them with `next`.
 * Written as a class rather than an async generator because a generator that was never started
 * skips its `finally` when `return()` is called, and every stream here must release what it
 * holds (a pub/sub listener, an upstream socket) exactly once however it ends.
 */
export class EventStream<T> implements AsyncIterableIterator<T> {
  readonly #buffer: T[] = [];
  readonly #limit: number;
  readonly #onClose: () => void;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #closed = false;
  /** Values dropped because the consumer fell `limit` values behind. */
  dropped = 0;

  /**
   * @param onClose called once, when the consumer stops (return/throw) or the stream ends and drains.
   * @param limit values kept for a slow consumer; beyond it the oldest are dropped.
   */
  constructor(onClose: () => void, limit = 1000) {
    this.#onClose = onClose;
    this.#limit = limit;
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(value: T): void {
    if (this.#ended) return;
    if (this.#waiting) {
      const wake = this.#waiting;
      this.#waiting = undefined;
      wake({ value, done: false });
      return;
    }
    this.#buffer.push(value);
    if (this.#buffer.length > this.#limit) {
      this.#buffer.shift();
      this.dropped++;
    }
  }

  /** No more values: the consumer gets what is buffered, then `done`. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#waiting) {
      const wake = this.#waiting;
      this.#waiting = undefined;
      this.#close();
      wake({ value: undefined, done: true });
    } else if (this.#buffer.length === 0) {
      this.#close();
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#buffer.length > 0) {
      const value = this.#buffer.shift()!;
      if (this.#ended && this.#buffer.length === 0) this.#close();
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended || this.#closed) {
      this.#close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.#ended = true;
    this.#buffer.length = 0;
    this.#close();
    const wake = this.#waiting;
    this.#waiting = undefined;
    wake?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }
}

/**
 * Maps each value of `source` through `map` (skipping `undefined` results), returning an
 * iterator whose `return()` reaches `source` even before the first `next()`. `map` may call
 * `stop()` to end the stream after the value it returns.
 */
export function mapStream<S, T>(
  source: AsyncIterator<S>,
  map: (value: S, stop: () => void) => Promise<T | undefined> | T | undefined,
  onClose?: () => void,
): AsyncIterableIterator<T> {
  let finished = false;
  let stopAfterNext = false;
  const finish = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    try {
      await source.return?.();
    } finally {
      onClose?.();
    }
  };
  const iterator: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (finished || stopAfterNext) {
          await finish();
          return { value: undefined, done: true };
        }
        const step = await source.next();
        if (step.done || finished) {
          await finish();
          return { value: undefined, done: true };
        }
        const mapped = await map(step.value, () => (stopAfterNext = true));
        if (mapped !== undefined) return { value: mapped, done: false };
      }
    },
    async return(): Promise<IteratorResult<T>> {
      await finish();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      await finish();
      throw error instanceof Error ? error : new Error(String(error));
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
