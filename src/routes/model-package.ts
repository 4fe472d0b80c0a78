/**
 * The model package for runtimes outside the host (the browser playground):
 * `GET /v1/model-package` → `{hash, base_id, manifest, files: {<key>: url}}`, revalidated on each
 * use (a deploy may change the model; the ETag is the manifest hash). `base_id` is the identity
 * adapters are bound to (`x-lora-base` of `/v1/adapter-feeds`); it equals the chat engine's even
 * when the package is another format of the same base (the Node host's 4-bit package). And
 * `GET /v1/model-package/files/{sha256}` → one file by its content: immutable, cached for a year,
 * `ETag` = its sha256, one `Range` answered with 206. Public like chat: it is the base the
 * chat API already runs. HTTP only; where the files live is the host's `modelPackage` dependency.
 */
import { Hono } from "hono";
import type { AppEnv, PackageDeps } from "../deps.ts";
import { LoraEdgeError } from "../errors.ts";
import type { ModelManifest } from "../runtime/manifest.ts";
import { etagOf, IMMUTABLE, notModified, parseRange, sliceStream } from "./http-read.ts";

const FILES = "/v1/model-package/files/";

export const modelPackageRoutes = new Hono<AppEnv>()
  .get("/v1/model-package", async (c) => {
    const { manifest, hash, baseId, json } = await packageOf(c.get("deps").modelPackage).manifest();
    const headers = { ETag: etagOf(hash), "Cache-Control": "no-cache" };
    const files = Object.fromEntries(Object.entries(manifest.files).flatMap(([key, f]) => (f ? [[key, `${FILES}${f.sha256}`]] : [])));
    return notModified(c.req.raw, headers.ETag, headers) ?? c.json({ object: "model_package", hash, base_id: baseId, manifest: json, files }, 200, headers);
  })
  .get(`${FILES}:sha256`, async (c) => {
    const pkg = packageOf(c.get("deps").modelPackage);
    const sha256 = c.req.param("sha256");
    const entry = fileBySha(sha256, (await pkg.manifest()).manifest);
    const headers = { ETag: etagOf(sha256), "Cache-Control": IMMUTABLE };
    const cached = notModified(c.req.raw, headers.ETag, headers);
    if (cached) return cached;
    const out = new Headers({ ...headers, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream" });
    const range = parseRange(c.req.header("range"), entry.bytes);
    if (range === "unsatisfiable") return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${entry.bytes}` } });
    const res = await pkg.file(entry.path, range ? `bytes=${range.start}-${range.end}` : undefined);
    if (!range) return new Response(res.body, { headers: out });
    out.set("Content-Range", `bytes ${range.start}-${range.end}/${entry.bytes}`);
    out.set("Content-Length", String(range.end - range.start + 1));
    // a store that honours the range answers 206 with those bytes; one that sends the whole file is cut here
    const body = res.status === 206 ? res.body : res.body && sliceStream(res.body, range);
    return new Response(body, { status: 206, headers: out });
  });

function packageOf(pkg: PackageDeps | undefined): PackageDeps {
  if (!pkg) throw new LoraEdgeError(404, "not_found", "this deployment does not serve its model package");
  return pkg;
}

function fileBySha(sha256: string, manifest: ModelManifest) {
  const entry = Object.values(manifest.files).find((f) => f?.sha256 === sha256);
  if (!entry) throw new LoraEdgeError(404, "not_found", `the model package has no file with sha256 ${sha256}`, { param: "sha256" });
  return entry;
}
