/**
 * The shipped SmolLM2 domain adapters (models/adapters/smollm2, what `npm start` seeds) served by
 * lora-edge match PEFT: each adapter goes through the upload path (`prepareUpload`: validation
 * against the package's manifest, prepare, the stored form), is read back and composed as a chat
 * request's adapter is (`deserializePreparedAdapter`, `composeAdapters`), and the fp32 SmolLM2
 * package's logits equal transformers + PEFT's on the same base within 1e-4 relative L2
 * (test/fixtures/smollm2-adapters, written by training/make_smollm2_adapter_golden.py).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSafetensors, toFloat32 } from "../../src/adapters/safetensors.ts";
import { Engine } from "../../src/runtime/engine.ts";
import { loadModelPackage } from "../../src/runtime/model-package.ts";
import type { ChatMessage } from "../../src/runtime/tokenizer.ts";
import { SEED_ADAPTER_DIRS } from "../../src/node/seed-adapters.ts";
import { relL2 } from "../reference/llama64.ts";
import { readSmollm2, SHIPPED_ADAPTERS as ADAPTERS, shippedAdapterFeeds, smollm2Package } from "../support/smollm2.ts";

const FIXTURE = new URL("../fixtures/smollm2-adapters/", import.meta.url);
const REGENERATE = "regenerate it with `.venv/bin/python training/make_smollm2_adapter_golden.py` (or $LORA_EDGE_VENV/bin/python; needs the training venv, `bash training/ci.sh`)";

type Golden = {
  base_model: string;
  adapters: Record<string, { adapter_model_sha256: string; adapter_config_sha256: string }>;
  prompts: { domain: string; messages: ChatMessage[]; ids: number[] }[];
};
const golden = JSON.parse(readFileSync(new URL("golden.json", FIXTURE), "utf8")) as Golden;
const logits = parseSafetensors(new Uint8Array(readFileSync(new URL("golden.safetensors", FIXTURE))));
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const shipped = readdirSync(ADAPTERS, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(`${ADAPTERS}/${e.name}/adapter_model.safetensors`)).map((e) => e.name).sort();

let engine: Engine;

beforeAll(async () => {
  const { files } = smollm2Package(await readSmollm2(), "smollm2-adapters", "fp32");
  engine = await Engine.create(await loadModelPackage(async (p) => files[p]!, { verify: false }));
});

describe(`the shipped SmolLM2 adapters (${SEED_ADAPTER_DIRS["smollm2-135m"]}) against PEFT`, () => {
  it("the golden was written from exactly the shipped adapter files", () => {
    expect(shipped.length, "no adapters shipped").toBeGreaterThan(0);
    const stale = shipped.filter((d) => {
      const g = golden.adapters[d];
      return !g || g.adapter_model_sha256 !== sha256(`${ADAPTERS}/${d}/adapter_model.safetensors`) || g.adapter_config_sha256 !== sha256(`${ADAPTERS}/${d}/adapter_config.json`);
    });
    const gone = Object.keys(golden.adapters).filter((d) => !shipped.includes(d));
    expect(stale.concat(gone), `test/fixtures/smollm2-adapters is stale for these adapters: ${REGENERATE}`).toEqual([]);
  });

  it("the chat template renders PEFT's prompts to the same token ids", () => {
    for (const p of golden.prompts) expect(engine.tokenizer.applyChatTemplate(p.messages, { addGenerationPrompt: true }).ids).toEqual(p.ids);
  });

  it.each(shipped)("%s: uploaded, stored and composed as served, logits within 1e-4 relative L2 of PEFT's; the adapter moves them far more than that", async (domain) => {
    const want = logits.get(domain);
    expect(want, `no golden logits for ${domain}: ${REGENERATE}`).toBeDefined();
    const lora = await shippedAdapterFeeds(engine, domain);
    const V = engine.manifest.architecture.vocab_size;
    const rows = toFloat32(want!);
    for (const [i, p] of golden.prompts.entries()) {
      const peft = rows.subarray(i * V, (i + 1) * V);
      const served = (await engine.forward(p.ids, { lora, logitsToKeep: 1 })).logits;
      const plain = (await engine.forward(p.ids, { logitsToKeep: 1 })).logits;
      expect(relL2(served, peft), `${domain} on the ${p.domain} prompt`).toBeLessThan(1e-4);
      expect(relL2(plain, peft), `${domain} changes the base's logits on the ${p.domain} prompt`).toBeGreaterThan(1e-2);
    }
  }, 600_000);
});
