/**
 * An event stream that calls `release` exactly once when it ends, fails or is abandoned — also when
 * it is abandoned before its first event, which a generator's `finally` would miss.
 *
 * @example const events = releasing(engine.generate(req), lease.release);
 */
export function releasing<T>(events: AsyncGenerator<T>, release: (() => void) | undefined): AsyncGenerator<T> {
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    release?.();
  };
  const wrapped: AsyncGenerator<T> = {
    async next() {
      try {
        const r = await events.next();
        if (r.done) once();
        return r;
      } catch (err) {
        once();
        throw err;
      }
    },
    async return(value) {
      once();
      return events.return(value);
    },
    async throw(err) {
      once();
      return events.throw(err);
    },
    [Symbol.asyncIterator]() {
      return wrapped;
    },
  };
  return wrapped;
}
