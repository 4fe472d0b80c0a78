/**
 * Reading an adapter upload: a multipart body with `adapter_config.json` and
 * `adapter_model.safetensors`, bounded by `MAX_UPLOAD_BYTES` twice — on the declared
 * Content-Length before reading, and on the bytes actually read (chunked bodies, lying headers).
 */
import { LoraEdgeError } from "../errors.ts";
import { CONFIG_PARAM, WEIGHTS_PARAM } from "../adapters/validate.ts";

/**
 * @example const { config, weights } = await readAdapterUpload(c.req.raw, limits.MAX_UPLOAD_BYTES);
 */
export async function readAdapterUpload(req: Request, maxBytes: number): Promise<{ config: Uint8Array; weights: Uint8Array }> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    throw new LoraEdgeError(400, "invalid_upload", `expected multipart/form-data with ${CONFIG_PARAM} and ${WEIGHTS_PARAM}, got ${type || "no content type"}`);
  }
  const body = await readBounded(req, maxBytes);
  let form: FormData;
  try {
    form = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": type } }).formData();
  } catch {
    throw new LoraEdgeError(400, "invalid_upload", "the multipart body cannot be parsed (cut off, or a wrong boundary?)");
  }
  return { config: await part(form, CONFIG_PARAM), weights: await part(form, WEIGHTS_PARAM) };
}

/** The whole body, refusing more than `maxBytes` and bodies shorter than their Content-Length. */
async function readBounded(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  const length = declared === null ? undefined : Number(declared);
  if (length !== undefined && length > maxBytes) throw tooLarge(length, maxBytes);
  if (!req.body) throw new LoraEdgeError(400, "invalid_upload", "the request has no body");
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch {
      throw new LoraEdgeError(400, "upload_incomplete", `the upload broke off after ${total} bytes`);
    }
    if (r.done) break;
    total += r.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(total, maxBytes);
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

async function part(form: FormData, name: string): Promise<Uint8Array> {
  const v = form.get(name) as unknown;
  if (v === null) throw new LoraEdgeError(400, "missing_file", `the upload has no part named ${name}`, { param: name });
  if (typeof v === "string") return new TextEncoder().encode(v);
  return new Uint8Array(await (v as Blob).arrayBuffer());
}

function tooLarge(bytes: number, max: number): LoraEdgeError {
  return new LoraEdgeError(413, "upload_too_large", `the upload is ${bytes} bytes; the limit (MAX_UPLOAD_BYTES) is ${max}`);
}
