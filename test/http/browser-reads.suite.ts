/**
 * What the browser runtime reads from a host (the Worker inside workerd with the real assets, R2
 * and D1; the Node host from its model folder, SQLite and blob directory): the model package (manifest, then files by sha256, with ETag/304 and byte ranges) and an adapter
 * version's prepared feeds (public, cacheable by their sha256, bit for bit what the registry stored).
 */
import { describe, expect, it } from "vitest";
import { deserializePreparedAdapter } from "../../src/adapters/prepare.ts";
import { sha256Hex } from "../../src/runtime/model-package.ts";
import type { ModelManifest } from "../../src/runtime/manifest.ts";
import { adminClient, ARCH, errorOf, peftFiles, type TestHost } from "./support.ts";

type PackageIndex = { object: string; hash: string; base_id: string; manifest: ModelManifest; files: Record<string, string> };

export function browserReadsSuite(host: TestHost) {
  const { call, push } = adminClient(host);

  async function packageIndex(): Promise<PackageIndex> {
    const res = await call("GET", "/v1/model-package", undefined, { token: null });
    expect(res.status).toBe(200);
    return (await res.json()) as PackageIndex;
  }

  describe(`GET /v1/model-package (${host.kind})`, () => {
    it("lists the served package's manifest, its hash, the base identity adapters are checked against and a URL per file, without a token", async () => {
      const index = await packageIndex();
      const health = (await (await call("GET", "/healthz")).json()) as { model_hash: string; base_id: string };
      expect(index.hash).toBe(health.model_hash);
      // the manifest as the file has it: browsers hash what they are sent against `hash`
      expect(await sha256Hex(new TextEncoder().encode(JSON.stringify(index.manifest)))).toBe(index.hash);
      expect(index.base_id).toBe(health.base_id);
      expect(Object.keys(index.files).sort()).toEqual(Object.keys(index.manifest.files).sort());
      for (const [key, url] of Object.entries(index.files)) expect(url).toBe(`/v1/model-package/files/${index.manifest.files[key as keyof ModelManifest["files"]]!.sha256}`);
    });

    it("answers 304 when the client holds the manifest's hash, and asks to revalidate otherwise", async () => {
      const first = await call("GET", "/v1/model-package", undefined, { token: null });
      expect(first.headers.get("cache-control")).toBe("no-cache");
      const again = await call("GET", "/v1/model-package", undefined, { token: null, headers: { "if-none-match": first.headers.get("etag")! } });
      expect(again.status).toBe(304);
    });
  });

  describe(`GET /v1/model-package/files/{sha256} (${host.kind})`, () => {
    it("serves every file with the bytes its manifest hashes, immutable, ETag = sha256", async () => {
      const { manifest } = await packageIndex();
      for (const f of Object.values(manifest.files)) {
        if (!f) continue;
        const res = await call("GET", `/v1/model-package/files/${f.sha256}`, undefined, { token: null });
        expect(res.status).toBe(200);
        expect(res.headers.get("etag")).toBe(`"${f.sha256}"`);
        expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
        expect(res.headers.get("accept-ranges")).toBe("bytes");
        const bytes = new Uint8Array(await res.arrayBuffer());
        expect(bytes.byteLength).toBe(f.bytes);
        expect(await sha256Hex(bytes)).toBe(f.sha256);
      }
    });

    it("answers a byte range with 206 and exactly those bytes (open-ended and suffix ranges too)", async () => {
      const { manifest } = await packageIndex();
      const f = manifest.files.tokenizer;
      const whole = new Uint8Array(await (await call("GET", `/v1/model-package/files/${f.sha256}`)).arrayBuffer());
      for (const [range, start, end] of [["bytes=100-1099", 100, 1099], [`bytes=${f.bytes - 10}-`, f.bytes - 10, f.bytes - 1], ["bytes=-25", f.bytes - 25, f.bytes - 1]] as const) {
        const res = await call("GET", `/v1/model-package/files/${f.sha256}`, undefined, { headers: { range } });
        expect(res.status, range).toBe(206);
        expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/${f.bytes}`);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(whole.subarray(start, end + 1));
      }
    });

    it("refuses a range past the end with 416, and answers 304 to a client that holds the file", async () => {
      const { manifest } = await packageIndex();
      const f = manifest.files.generation_config;
      const past = await call("GET", `/v1/model-package/files/${f.sha256}`, undefined, { headers: { range: `bytes=${f.bytes}-` } });
      expect(past.status).toBe(416);
      expect(past.headers.get("content-range")).toBe(`bytes */${f.bytes}`);
      const held = await call("GET", `/v1/model-package/files/${f.sha256}`, undefined, { headers: { "if-none-match": `"${f.sha256}"` } });
      expect(held.status).toBe(304);
    });

    it("answers 404 in OpenAI's shape for a hash the package does not hold, and never serves models/ directly", async () => {
      const res = await call("GET", `/v1/model-package/files/${"0".repeat(64)}`);
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toMatchObject({ code: "not_found", type: "not_found_error" });
      expect((await call("GET", "/models/demo/manifest.json")).status).toBe(404);
    });
  });

  describe(`GET /v1/adapter-feeds/{name}[@version] (${host.kind})`, () => {
    it("serves a version's stored prepared form without a token: its sha256, immutable, readable against the base", async () => {
      const created = (await (await push("feeds-a", peftFiles({ r: 4, seed: 11 }))).json()) as { id: string; prepared: { sha256: string; bytes: number }; base_model_hash: string };
      const res = await call("GET", `/v1/adapter-feeds/${created.id}`, undefined, { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get("etag")).toBe(`"${created.prepared.sha256}"`);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("x-lora-adapter")).toBe(created.id);
      expect(res.headers.get("x-lora-base")).toBe(created.base_model_hash);
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(bytes.byteLength).toBe(created.prepared.bytes);
      expect(await sha256Hex(bytes)).toBe(created.prepared.sha256);
      const prepared = deserializePreparedAdapter(bytes, ARCH as never, { baseId: created.base_model_hash });
      expect(prepared.feeds.layers.length).toBeGreaterThan(0);
      const held = await call("GET", `/v1/adapter-feeds/${created.id}`, undefined, { token: null, headers: { "if-none-match": `"${created.prepared.sha256}"` } });
      expect(held.status).toBe(304);
    });

    it("serves the latest version for a bare name, to be revalidated (a new version may come)", async () => {
      await push("feeds-b", peftFiles({ r: 4, seed: 12 }));
      const v2 = (await (await push("feeds-b", peftFiles({ r: 4, seed: 13 }))).json()) as { id: string };
      const res = await call("GET", "/v1/adapter-feeds/feeds-b", undefined, { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-lora-adapter")).toBe(v2.id);
      expect(res.headers.get("cache-control")).toBe("no-cache");
    });

    it("answers 404 model_not_found for an adapter or version that does not exist", async () => {
      for (const model of ["nope", "feeds-a@9"]) {
        const res = await call("GET", `/v1/adapter-feeds/${model}`, undefined, { token: null });
        expect(res.status, model).toBe(404);
        expect(await errorOf(res)).toMatchObject({ code: "model_not_found" });
      }
    });
  });
}
