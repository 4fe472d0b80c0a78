/**
 * Reading an adapter upload: a multipart body with `adapter_config.json` and
 * `adapter_model.safetensors`, bounded by `MAX_UPLOAD_BYTES` (./bounded-body.ts: on the declared
 * Content-Length before reading, and on the bytes actually read).
 */
import { LoraEdgeError } from "../errors.ts";
import { CONFIG_PARAM, WEIGHTS_PARAM } from "../adapters/validate.ts";
import { readBoundedBody } from "./bounded-body.ts";

/**
 * @example const { config, weights } = await readAdapterUpload(c.req.raw, limits.MAX_UPLOAD_BYTES);
 */
export async function readAdapterUpload(req: Request, maxBytes: number): Promise<{ config: Uint8Array; weights: Uint8Array }> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    throw new LoraEdgeError(400, "invalid_upload", `expected multipart/form-data with ${CONFIG_PARAM} and ${WEIGHTS_PARAM}, got ${type || "no content type"}`);
  }
  const body = await readBoundedBody(req, { maxBytes, name: "MAX_UPLOAD_BYTES", code: "upload_too_large" });
  if (body.byteLength === 0) throw new LoraEdgeError(400, "invalid_upload", "the request has no body");
  let form: FormData;
  try {
    form = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": type } }).formData();
  } catch {
    throw new LoraEdgeError(400, "invalid_upload", "the multipart body cannot be parsed (cut off, or a wrong boundary?)");
  }
  return { config: await part(form, CONFIG_PARAM), weights: await part(form, WEIGHTS_PARAM) };
}

async function part(form: FormData, name: string): Promise<Uint8Array> {
  const v = form.get(name) as unknown;
  if (v === null) throw new LoraEdgeError(400, "missing_file", `the upload has no part named ${name}`, { param: name });
  if (typeof v === "string") return new TextEncoder().encode(v);
  return new Uint8Array(await (v as Blob).arrayBuffer());
}
