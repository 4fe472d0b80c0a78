/**
 * The adapter registry and admin API of a host on its real storage (the Worker: miniflare's R2 and
 * D1; the Node host: a SQLite file and a blob directory): upload, versions, domains, deletes, and
 * every refusal leaving storage exactly as it was.
 */
import { describe, expect, it } from "vitest";
import { adminClient, errorOf, peftFiles, uploadForm, type PeftFiles, type TestHost } from "./support.ts";

/** safetensors bytes from a header object and a data region, for hand-made corrupt files. */
function rawSafetensors(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
const KEY_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
const KEY_B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
const qOnly = (r = 4) => peftFiles({ r, targets: ["q_proj"], config: { layers_to_transform: [0] } });

export function registrySuite(host: TestHost) {
  const { call, push } = adminClient(host);
  const storageSnapshot = () => host.storageSnapshot();

  describe(`dev seeding (${host.kind})`, () => {
    it("an empty registry gets the demo domains support, sales, technical, once", async () => {
      expect(await host.seedDemo()).toBe(true);
      const domains = (await (await call("GET", "/v1/domains")).json()) as any;
      expect(domains.data.map((d: any) => `${d.domain}→${d.adapter}@${d.version}`)).toEqual(["sales→sales-demo@1", "support→support-demo@1", "technical→technical-demo@1"]);
      const before = await storageSnapshot();
      expect(await host.seedDemo()).toBe(false);
      expect(await storageSnapshot()).toEqual(before);
      // leave the registry empty for the tests below
      for (const d of ["support", "sales", "technical"]) {
        expect((await call("DELETE", `/v1/domains/${d}`)).status).toBe(200);
        expect((await call("DELETE", `/v1/adapters/${d}-demo`)).status).toBe(200);
      }
      expect((await storageSnapshot()).blobs).toEqual([]);
    });
  });

  describe(`admin API (${host.kind}): adapters`, () => {
    it("PUT registers version 1, 2, … and answers 201 with the manifest", async () => {
      const files = peftFiles({ r: 4, seed: 3 });
      const res = await push("alpha", files);
      expect(res.status).toBe(201);
      const m = (await res.json()) as any;
      expect(m).toMatchObject({ name: "alpha", version: 1, id: "alpha@1", rank: 4, alpha: 8, targets: ["q_proj", "v_proj", "o_proj"], dtype: "F16", dora: false, bytes: files.config.length + files.weights.length });
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.base_model_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(new Date(m.created).getTime()).toBeGreaterThan(0);
      expect(((await (await push("alpha", peftFiles({ r: 8, seed: 4 }))).json()) as any).version).toBe(2);

      const list = (await (await call("GET", "/v1/adapters/alpha")).json()) as any;
      expect(list.data.map((a: any) => [a.version, a.rank])).toEqual([[1, 4], [2, 8]]);
      expect(((await (await call("GET", "/v1/adapters/alpha@1")).json()) as any).rank).toBe(4);
      const all = (await (await call("GET", "/v1/adapters")).json()) as any;
      expect(all.data.map((a: any) => a.id)).toEqual(["alpha@1", "alpha@2"]);
    });

    it("stores the PEFT files and the prepared form as blobs under their sha256", async () => {
      const res = await push("stored", peftFiles({ seed: 9 }));
      const m = (await res.json()) as any;
      const snap = await storageSnapshot();
      expect(snap.blobs.some((k) => k.startsWith(`peft/${m.sha256} `))).toBe(true);
      expect(snap.blobs.some((k) => k.startsWith(`peft/${m.config_sha256} `))).toBe(true);
      expect(snap.blobs.some((k) => k.startsWith(`prepared/${m.prepared.sha256} `))).toBe(true);
    });

    it("16 concurrent uploads of one name get versions 1..16, no gap, no duplicate", async () => {
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => push("race", peftFiles({ seed: 100 + (i % 4) }))));
      expect(results.map((r) => r.status)).toEqual(Array(16).fill(201));
      const versions = (await Promise.all(results.map((r) => r.json() as Promise<any>))).map((m) => m.version).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      const listed = (await (await call("GET", "/v1/adapters/race")).json()) as any;
      expect(listed.data.map((a: any) => a.version)).toEqual(versions);
    });

    it("DELETE name@version removes one version; versions are never reused", async () => {
      await push("gone", peftFiles({ seed: 5 }));
      await push("gone", peftFiles({ seed: 6 }));
      const del = await call("DELETE", "/v1/adapters/gone@2");
      expect(del.status).toBe(200);
      expect(((await del.json()) as any).data.map((a: any) => a.id)).toEqual(["gone@2"]);
      expect(((await (await push("gone", peftFiles({ seed: 7 }))).json()) as any).version).toBe(3);
      expect((await call("DELETE", "/v1/adapters/gone")).status).toBe(200);
      expect((await call("GET", "/v1/adapters/gone")).status).toBe(404);
      expect((await call("DELETE", "/v1/adapters/gone")).status).toBe(404);
    });

    it("DELETE removes blobs no remaining version uses, and keeps shared ones", async () => {
      const files = peftFiles({ seed: 77 });
      const a = (await (await push("twin", files)).json()) as any;
      await push("twin", files);
      await call("DELETE", "/v1/adapters/twin@1");
      expect((await storageSnapshot()).blobs.some((k) => k.startsWith(`prepared/${a.prepared.sha256} `))).toBe(true);
      await call("DELETE", "/v1/adapters/twin");
      expect((await storageSnapshot()).blobs.some((k) => k.includes(a.prepared.sha256) || k.includes(a.sha256))).toBe(false);
    });
  });

  describe(`admin API (${host.kind}): domains`, () => {
    it("maps, lists, remaps and unmaps domains; deleting a mapped adapter is 409 and changes nothing", async () => {
      await push("helpdesk", peftFiles({ seed: 11 }));
      await push("helpdesk", peftFiles({ seed: 12 }));
      const put = await call("PUT", "/v1/domains/support", { adapter: "helpdesk", version: 1, threshold: 0.6 });
      expect(put.status).toBe(200);
      expect(await put.json()).toMatchObject({ domain: "support", adapter: "helpdesk", version: 1, threshold: 0.6, examples: 0 });
      // latest by default, threshold kept when omitted
      expect(await (await call("PUT", "/v1/domains/support", { adapter: "helpdesk" })).json()).toMatchObject({ version: 2, threshold: 0.6 });
      expect(await (await call("PUT", "/v1/domains/billing", { adapter: "helpdesk@1" })).json()).toMatchObject({ version: 1, threshold: null });
      const listed = (await (await call("GET", "/v1/domains")).json()) as any;
      expect(listed.data.map((d: any) => `${d.domain}→${d.adapter}@${d.version}`)).toEqual(["billing→helpdesk@1", "support→helpdesk@2"]);

      const before = await storageSnapshot();
      for (const ref of ["helpdesk", "helpdesk@1", "helpdesk@2"]) {
        const res = await call("DELETE", `/v1/adapters/${ref}`);
        expect(res.status).toBe(409);
        expect((await errorOf(res)).code).toBe("adapter_in_use");
      }
      expect(await storageSnapshot()).toEqual(before);

      expect((await call("DELETE", "/v1/domains/billing")).status).toBe(200);
      expect((await call("DELETE", "/v1/domains/billing")).status).toBe(404);
      expect((await call("DELETE", "/v1/adapters/helpdesk@1")).status).toBe(200);
    });

    it("refuses a mapping to an adapter that does not exist (404) and bad bodies (400)", async () => {
      const before = await storageSnapshot();
      const cases: [unknown, number, string][] = [
        [{ adapter: "nope" }, 404, "adapter_not_found"],
        [{ adapter: "nope@x" }, 400, "invalid_adapter_ref"],
        [{ adapter: "x", threshold: 2 }, 400, "invalid_request"],
        [{ adapter: "x", surprise: 1 }, 400, "invalid_request"],
        [{}, 400, "invalid_request"],
      ];
      for (const [body, status, code] of cases) {
        const res = await call("PUT", "/v1/domains/ops", body as object);
        expect([res.status, (await errorOf(res)).code]).toEqual([status, code]);
      }
      const bad = await call("PUT", "/v1/domains/Bad Name", { adapter: "x" });
      expect([bad.status, (await errorOf(bad)).code]).toEqual([400, "invalid_domain"]);
      const json = await call("PUT", "/v1/domains/ops", "{nope", { headers: { "content-type": "application/json" } });
      expect([json.status, (await errorOf(json)).code]).toEqual([400, "invalid_json"]);
      expect(await storageSnapshot()).toEqual(before);
    });
  });

  describe(`admin API (${host.kind}): refusals change nothing`, () => {
    const valid = () => peftFiles({ seed: 21 });
    const withWeights = (weights: Uint8Array): PeftFiles => ({ config: valid().config, weights });
    const withConfig = (config: object, weights = valid().weights): PeftFiles => ({ config: new TextEncoder().encode(JSON.stringify(config)), weights });
    const good = valid();
    /** q_proj of layer 0 at rank 4, F16 unless told, with one part of it made wrong. */
    const qWeights = (o: { aDtype?: string; aShape?: number[]; aBytes?: Uint8Array; bExtra?: number }): PeftFiles => {
      const aShape = o.aShape ?? [4, 768];
      const a = o.aBytes ?? new Uint8Array(aShape[0]! * aShape[1]! * 2);
      const b = new Uint8Array(768 * 4 * 2);
      const header = {
        [KEY_A]: { dtype: o.aDtype ?? "F16", shape: aShape, data_offsets: [0, a.length] },
        [KEY_B]: { dtype: "F16", shape: [768, 4], data_offsets: [a.length, a.length + b.length + (o.bExtra ?? 0)] },
      };
      return { config: qOnly().config, weights: rawSafetensors(header, new Uint8Array([...a, ...b])) };
    };
    const nanA = new Uint16Array(4 * 768).fill(0x3c00);
    nanA[5] = 0x7e00; // an F16 NaN

    const cases: [string, () => Promise<Response>, number, string][] = [
      ["no token", () => push("bad", good, null), 401, "invalid_api_key"],
      ["a wrong token", () => push("bad", good, "wrong-token"), 401, "invalid_api_key"],
      ["a wrong token on GET /v1/adapters", () => call("GET", "/v1/adapters", undefined, { token: "x" }), 401, "invalid_api_key"],
      ["a wrong token on PUT /v1/domains", () => call("PUT", "/v1/domains/support", { adapter: "x" }, { token: "x" }), 401, "invalid_api_key"],
      ["safetensors with a bad header length", () => push("bad", withWeights(rawSafetensors({}, new Uint8Array(16), 1 << 30))), 400, "invalid_safetensors"],
      ["safetensors offsets out of bounds", () => push("bad", qWeights({ bExtra: 64 })), 400, "invalid_safetensors"],
      ["a wrong dtype (I16)", () => push("bad", qWeights({ aDtype: "I16" })), 400, "unsupported_dtype"],
      ["shapes not matching the base", () => push("bad", qWeights({ aShape: [4, 512] })), 400, "shape_mismatch"],
      ["NaN weights", () => push("bad", qWeights({ aBytes: new Uint8Array(nanA.buffer) })), 400, "non_finite_weight"],
      ["a rank above MAX_ADAPTER_RANK", () => push("bad", withConfig({ ...JSON.parse(new TextDecoder().decode(good.config)), r: 65, lora_alpha: 8 })), 400, "rank_too_large"],
      ["an unknown target module", () => push("bad", withConfig({ ...JSON.parse(new TextDecoder().decode(good.config)), target_modules: ["q_proj", "v_proj", "o_proj", "foo_proj"] })), 400, "unknown_module"],
      ["a config without r", () => push("bad", withConfig({ peft_type: "LORA", lora_alpha: 8, target_modules: ["q_proj"] })), 400, "invalid_adapter_config"],
      ["a config that is not JSON", () => push("bad", { config: new TextEncoder().encode("{r: 4"), weights: good.weights }), 400, "invalid_adapter_config"],
      ["a missing weights part", () => call("PUT", "/v1/adapters/bad", (() => { const f = uploadForm(good); f.delete("adapter_model.safetensors"); return f; })()), 400, "missing_file"],
      ["a body that is not multipart", () => call("PUT", "/v1/adapters/bad", { r: 4 }), 400, "invalid_upload"],
      ["a reserved name", () => push("base", good), 400, "reserved_name"],
      ["an invalid name", () => push("Bad%20Name", good), 400, "invalid_adapter_name"],
      ["a Content-Length above MAX_UPLOAD_BYTES", () => call("PUT", "/v1/adapters/bad", streamOf(multipartBytes(good), { cutAt: 1000 }), { headers: { "content-type": MULTIPART_TYPE, "content-length": String(65 * 1024 * 1024) } }), 413, "upload_too_large"],
      ["a chunked body larger than MAX_UPLOAD_BYTES", () => call("PUT", "/v1/adapters/bad", hugeStream(65 * 1024 * 1024), { headers: { "content-type": MULTIPART_TYPE } }), 413, "upload_too_large"],
      ["an upload cut off half-way (fewer bytes than its Content-Length)", () => call("PUT", "/v1/adapters/bad", streamOf(multipartBytes(good), { cutAt: 0.5 }), { headers: { "content-type": MULTIPART_TYPE, "content-length": String(multipartBytes(good).length) } }), 400, "upload_incomplete"],
      ["an upload cut off half-way (chunked, the multipart body ends early)", () => call("PUT", "/v1/adapters/bad", streamOf(multipartBytes(good), { cutAt: 0.5 }), { headers: { "content-type": MULTIPART_TYPE } }), 400, "invalid_upload"],
    ];

    it.each(cases.map(([name, send, status, code]) => ({ name, send, status, code })))("$name → $status $code, storage unchanged", async ({ name, send, status, code }) => {
      await push("keep", peftFiles({ seed: 1 })); // something to stay as it is
      const before = await storageSnapshot();
      if (host.kind === "node" && code === "upload_incomplete") {
        // over a real socket a body shorter than its Content-Length is a client that stops sending
        // and then hangs up: there is no one left to answer, and nothing may be stored
        await expect(send(), name).rejects.toThrow(/client gave up/);
        expect(await storageSnapshot()).toEqual(before);
        return;
      }
      const res = await send();
      const err = await errorOf(res);
      expect([res.status, err.code]).toEqual([status, code]);
      expect(err).toHaveProperty("param");
      expect(await storageSnapshot()).toEqual(before);
    });
  });
}

const BOUNDARY = "lora-edge-test-boundary";
const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** The multipart body of an upload, by hand (so it can be cut or streamed). */
function multipartBytes(files: PeftFiles): Uint8Array {
  const enc = new TextEncoder();
  const part = (name: string, bytes: Uint8Array) => [enc.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), bytes, enc.encode("\r\n")];
  const chunks = [...part("adapter_config.json", files.config), ...part("adapter_model.safetensors", files.weights), enc.encode(`--${BOUNDARY}--\r\n`)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A body stream of `bytes`, ending after `cutAt` (a fraction, or a byte count). */
function streamOf(bytes: Uint8Array, o: { cutAt?: number } = {}): ReadableStream<Uint8Array> {
  const end = o.cutAt === undefined ? bytes.length : o.cutAt < 1 ? Math.floor(bytes.length * o.cutAt) : o.cutAt;
  let sent = false;
  return new ReadableStream({
    pull(ctl) {
      if (!sent) {
        sent = true;
        ctl.enqueue(bytes.slice(0, end));
        return;
      }
      ctl.close();
    },
  });
}

/** A stream of `total` bytes in 1 MiB chunks, without a Content-Length. */
function hugeStream(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(1 << 20);
  let sent = 0;
  return new ReadableStream({
    pull(ctl) {
      if (sent >= total) return ctl.close();
      ctl.enqueue(chunk.slice());
      sent += chunk.length;
    },
  });
}
