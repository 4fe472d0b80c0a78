/**
 * HTTP for content-addressed reads (model package files, adapter feeds): a strong `ETag` from the
 * content's sha256, `304 Not Modified` when the client already holds it, and one `Range` per request.
 */

/** `Cache-Control` for a URL whose bytes never change (its name holds their hash, or an immutable version). */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** The quoted strong ETag for a sha256. */
export function etagOf(sha256: string): string {
  return `"${sha256}"`;
}

/**
 * A 304 when `If-None-Match` names this ETag (or `*`); undefined when the body must be sent.
 *
 * @example return notModified(c.req.raw, etag, headers) ?? new Response(bytes, { headers })
 */
export function notModified(request: Request, etag: string, headers: Record<string, string>): Response | undefined {
  const tags = request.headers.get("if-none-match");
  if (!tags) return undefined;
  const match = tags.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
  return match ? new Response(null, { status: 304, headers }) : undefined;
}

/** A single byte range `[start, end]` (inclusive) of a body of `size` bytes. */
export type ByteRange = { start: number; end: number };

/**
 * The range a `Range` header asks for: undefined for none or a form we answer in full (several
 * ranges, other units), `"unsatisfiable"` for one outside the body (416).
 *
 * @example parseRange("bytes=0-99", 1000) // { start: 0, end: 99 }; "bytes=-100" → the last 100 bytes
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  const m = header?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  const [start, end] = m[1] === "" ? [Math.max(0, size - Number(m[2])), size - 1] : [Number(m[1]), m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1)];
  return start > end || start >= size ? "unsatisfiable" : { start, end };
}

/** The bytes `[start, end]` of a stream, as a stream (for a store that answered a range in full). */
export function sliceStream(body: ReadableStream<Uint8Array>, { start, end }: ByteRange): ReadableStream<Uint8Array> {
  let at = 0; // offset of the next chunk in the whole body
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        const from = Math.max(start - at, 0);
        const to = Math.min(end + 1 - at, chunk.byteLength);
        if (from < to) ctl.enqueue(chunk.subarray(from, to));
        at += chunk.byteLength;
      },
    }),
  );
}
