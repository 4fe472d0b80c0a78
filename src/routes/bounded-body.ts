/**
 * Request bodies read with a size limit, twice: on the declared `Content-Length` before a byte is
 * read (so the refusal goes out while the client is still sending), and on the bytes actually read
 * (chunked bodies, lying headers). One 413 shape for every route that reads a body.
 */
import { LoraEdgeError } from "../errors.ts";

/** What a route's limit is called and the code its refusal carries. */
export type BodyLimit = { maxBytes: number; name: string; code: string };

/** Refuse a body whose declared length exceeds the limit, without reading it. @example assertDeclaredLength(c.req.raw, { maxBytes: 1 << 20, name: "MAX_CHAT_BODY_BYTES", code: "body_too_large" }) */
export function assertDeclaredLength(req: Request, limit: BodyLimit): number | undefined {
  const declared = req.headers.get("content-length");
  const length = declared === null || declared === "" ? undefined : Number(declared);
  if (length !== undefined && length > limit.maxBytes) throw tooLarge(length, limit);
  return length;
}

/**
 * The whole body, refusing more than `limit.maxBytes` (413) and bodies shorter than their
 * Content-Length (400 `upload_incomplete`).
 *
 * @example const bytes = await readBoundedBody(c.req.raw, { maxBytes: limits.MAX_UPLOAD_BYTES, name: "MAX_UPLOAD_BYTES", code: "upload_too_large" });
 */
export async function readBoundedBody(req: Request, limit: BodyLimit): Promise<Uint8Array> {
  const length = assertDeclaredLength(req, limit);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch {
      throw new LoraEdgeError(400, "upload_incomplete", `the request body broke off after ${total} bytes`);
    }
    if (r.done) break;
    total += r.value.byteLength;
    if (total > limit.maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(total, limit);
    }
    chunks.push(r.value);
  }
  if (length !== undefined && total !== length) throw new LoraEdgeError(400, "upload_incomplete", `Content-Length is ${length} but ${total} bytes arrived`);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function tooLarge(bytes: number, limit: BodyLimit): LoraEdgeError {
  return new LoraEdgeError(413, limit.code, `the request body is ${bytes} bytes; the limit (${limit.name}) is ${limit.maxBytes}`);
}
