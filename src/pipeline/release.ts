/**
 * An event stream that calls `release` exactly once when it ends, fails or is abandoned — also when
 * it is abandoned before its first event, which a generator's `finally` would miss. Abandoned
 * means: its consumer calls `return()`, or `signal` aborts (the client went away), in which case the
 * source is stopped and freed without waiting for anyone to read again. `activity` hears when the
 * stream is being read (busy) and when it waits for its reader (idle), so an idle watchdog can tell
 * a slow step from a reader that is gone. Each read first yields to the host's event loop (one
 * macrotask turn): a stream fed from pure computation otherwise never lets workerd see that its
 * client disconnected, and the abort signal never fires (measured in miniflare).
 *
 * @example const events = releasing(engine.generate(req), lease.release, { signal: request.signal, activity: ticket.activity });
 */
export function releasing<T>(
  events: AsyncGenerator<T>,
  release: (() => void) | undefined,
  opts: { signal?: AbortSignal | undefined; activity?: ((busy: boolean) => void) | undefined } = {},
): AsyncGenerator<T> {
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    opts.signal?.removeEventListener("abort", abandon);
    release?.();
  };
  // the source may be mid-step: its return() then runs when that step ends (the engine also sees the signal)
  const abandon = () => void wrapped.return(undefined).catch(() => undefined);
  const wrapped: AsyncGenerator<T> = {
    async next() {
      opts.activity?.(true);
      try {
        await yieldToHost();
        if (released) return { done: true, value: undefined };
        const r = await events.next();
        if (r.done) once();
        return r;
      } catch (err) {
        once();
        throw err;
      } finally {
        opts.activity?.(false);
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
  if (opts.signal?.aborted) abandon();
  else opts.signal?.addEventListener("abort", abandon, { once: true });
  return wrapped;
}

/** One turn of the host's event loop: `setImmediate` where there is one (Node's `setTimeout(0)` waits ≥ 1 ms), else a 0 ms timer. */
const yieldToHost: () => Promise<void> =
  typeof setImmediate === "function" ? () => new Promise((resolve) => setImmediate(resolve)) : () => new Promise((resolve) => setTimeout(resolve, 0));
