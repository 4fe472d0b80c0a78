/**
 * The host's model package for browsers, fetched by a page: the manifest from `GET /v1/model-package`, then
 * each file from its content-addressed URL through the Cache API (a second visit reads nothing
 * over the network), with byte progress and every file checked against its sha256.
 */
import { loadModelPackage, sha256Hex, type ModelPackage } from "../src/runtime/model-package.ts";
import type { ModelManifest } from "../src/runtime/manifest.ts";

/** Cache API bucket for model files: URLs hold the sha256, so an entry never goes stale. */
const CACHE = "lora-edge-model-files";

export type DownloadProgress = { loaded: number; total: number; fromCache: number };

type PackageIndex = { hash: string; base_id: string; manifest: ModelManifest; files: Record<string, string> };

/**
 * Fetch the package the host serves to browsers; `onProgress` sees bytes as they arrive.
 *
 * @example const pkg = await fetchModelPackage((p) => (bar.value = p.loaded / p.total));
 */
export async function fetchModelPackage(onProgress: (p: DownloadProgress) => void = () => {}): Promise<ModelPackage> {
  const res = await fetch("/v1/model-package");
  if (!res.ok) throw new Error(`GET /v1/model-package: ${res.status}`);
  const index = (await res.json()) as PackageIndex;
  const entries = Object.entries(index.manifest.files).flatMap(([key, f]) => (f && index.files[key] ? [{ ...f, url: index.files[key]! }] : []));
  const progress: DownloadProgress = { loaded: 0, total: entries.reduce((n, e) => n + e.bytes, 0), fromCache: 0 };
  const cache = "caches" in globalThis ? await caches.open(CACHE) : undefined;
  const bytes = new Map<string, Uint8Array>();
  await Promise.all(
    entries.map(async (e) => {
      const cached = await cache?.match(e.url);
      let data: Uint8Array | undefined = cached ? new Uint8Array(await cached.arrayBuffer()) : undefined;
      if (data && (await sha256Hex(data)) !== e.sha256) data = undefined; // damaged entry: fetch again
      if (data) {
        progress.loaded += e.bytes;
        progress.fromCache += e.bytes;
        onProgress({ ...progress });
      } else {
        const fetched = await download(e.url, e.bytes, (n) => {
          progress.loaded += n;
          onProgress({ ...progress });
        });
        if ((await sha256Hex(fetched)) !== e.sha256) throw new Error(`${e.path}: sha256 does not match the manifest`);
        await cache?.put(e.url, new Response(fetched as Uint8Array<ArrayBuffer>));
        data = fetched;
      }
      bytes.set(e.path, data);
    }),
  );
  const manifestBytes = new TextEncoder().encode(JSON.stringify(index.manifest));
  const read = async (path: string) => (path === "manifest.json" ? manifestBytes : bytes.get(path)!);
  const pkg = await loadModelPackage(read, { verify: false }); // verified above, as each file arrived
  if (pkg.hash !== index.hash) throw new Error(`model package: manifest hash ${pkg.hash.slice(0, 12)} differs from the host's ${index.hash.slice(0, 12)}`);
  // the identity adapters are checked against, computed here from the manifest: what the host says it is
  if (pkg.baseId !== index.base_id) throw new Error(`model package: base identity ${pkg.baseId.slice(0, 12)} differs from the host's ${index.base_id.slice(0, 12)}`);
  return pkg;
}

/** GET `url` into one buffer, reporting each chunk's size. */
export async function download(url: string, expected: number, onBytes: (n: number) => void): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
  const out = new Uint8Array(expected);
  let at = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (at + value.byteLength > expected) throw new Error(`GET ${url}: more than the ${expected} bytes expected`);
    out.set(value, at);
    at += value.byteLength;
    onBytes(value.byteLength);
  }
  if (at !== expected) throw new Error(`GET ${url}: ${at} bytes, expected ${expected}`);
  return out;
}
