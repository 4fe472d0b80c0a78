/**
 * What the HTTP tests and benches do to a running host (a bundled Worker or the Node host) as its
 * clients would: upload a random PEFT adapter through the admin API, open a streamed chat and drop
 * the socket after its first chunk, and wait for a condition on `/healthz`.
 */
import { request } from "node:http";
import { peftConfig, randomPeftTensors, writeSafetensors, type ProjectionName } from "../reference/hf-checkpoint.ts";
import type { HfConfig } from "../reference/llama64.ts";
import { multipart } from "../../tools/cli.ts";

/** PUT a seeded random PEFT adapter (F16 safetensors, α = 2r) as `name`; returns the response. */
export async function uploadRandomAdapter(url: URL, token: string, name: string, arch: HfConfig, o: { r: number; targets: ProjectionName[]; seed: number; std: number }): Promise<Response> {
  const tensors = randomPeftTensors(arch, o);
  const weights = writeSafetensors(Object.fromEntries([...tensors].map(([k, t]) => [k, { dtype: "F16" as const, dims: t.dims, data: Float32Array.from(t.data) }])));
  const config = new TextEncoder().encode(JSON.stringify(peftConfig({ r: o.r, lora_alpha: 2 * o.r, target_modules: o.targets })));
  const { body, type } = multipart({ "adapter_config.json": config, "adapter_model.safetensors": weights });
  return fetch(new URL(`/v1/adapters/${name}`, url), { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": type }, body: body as BodyInit });
}

/** POST a streamed chat, read until the first `data:` chunk arrives, then destroy the socket. */
export function dropAfterFirstChunk(url: URL, body: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(new URL("/v1/chat/completions", url), { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data) } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      res.once("data", (chunk: Buffer) => {
        if (!chunk.toString().startsWith("data: ")) return reject(new Error(`unexpected first chunk ${chunk}`));
        req.destroy(); // the client goes away: socket closed mid-stream
        resolve();
      });
    });
    req.on("error", (err) => (req.destroyed ? undefined : reject(err)));
    req.end(data);
  });
}

/** Poll `check` every 250 ms for up to `ms`; its last answer. */
export async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return check();
}
