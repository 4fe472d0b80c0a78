/**
 * The memory one generation holds in the engine's heap while it runs, known before it starts: its
 * KV cache at full length (prompt + `max_tokens`, capped by the context) and its LoRA inputs. What
 * admission control (./admission.ts) charges a request. Scratch memory of a forward pass is not
 * here: passes run one at a time, so it is a fixed reserve outside the budget.
 *
 * @example requestBytes(manifest.architecture, { promptTokens: 930, maxTokens: 64, lora }) // 4 071 424 + feed bytes
 */
import { LORA_GROUPS, groupLayout, type Architecture } from "../runtime/manifest.ts";
import type { LoraFeeds } from "../runtime/lora-feeds.ts";

const F32 = 4;

/** Key and value caches of every layer for `tokens` positions: `2 · layers · kv_heads · head_dim · tokens` floats. */
export function kvCacheBytes(arch: Architecture, tokens: number): number {
  return 2 * arch.num_hidden_layers * arch.num_key_value_heads * arch.head_dim * tokens * F32;
}

/** A request's LoRA inputs as the engine uploads them: A and B of each fed group, and DoRA's scales for every group. */
export function loraFeedBytes(arch: Architecture, lora: LoraFeeds | undefined): number {
  if (!lora) return 0;
  let floats = 0;
  for (let l = 0; l < arch.num_hidden_layers; l++) {
    for (const { name } of LORA_GROUPS) {
      const feed = lora.layers[l]?.[name];
      if (feed) floats += feed.A.length + feed.B.length;
      if (lora.dora) floats += groupLayout(arch, name).out;
    }
  }
  return floats * F32;
}

/** Everything one generation holds: KV cache for prompt + completion (at most the context) and LoRA inputs. */
export function requestBytes(arch: Architecture, r: { promptTokens: number; maxTokens: number; lora?: LoraFeeds | undefined }): number {
  const tokens = Math.min(r.promptTokens + r.maxTokens, arch.max_position_embeddings);
  return kvCacheBytes(arch, tokens) + loraFeedBytes(arch, r.lora);
}
