/**
 * The API replies of `npm run eval:domains`, kept in a JSON file so that a rerun (or a run cut
 * short) reuses every reply whose inputs are unchanged: each is stored under the served package's
 * manifest hash, the reply length, the question, and what the request names, resolved to content —
 * an adapter by its sha256, a composition by its adapters' sha256 and weights, `auto` by the router
 * artifact's sha256 and every mapped adapter's. A retrained adapter thus re-asks only the requests
 * that can reach it; the base's replies stay. Written after every new reply.
 *
 * @example const cache = openReplyCache("bench/x.parts/api-replies.json", identity); … cache.get(target, question)
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ChatReply, ChatTarget, ReplyCache } from "./api-eval.ts";

export type ServedIdentity = {
  /** the served package's manifest hash */
  model_hash: string;
  max_tokens: number;
  /** sha256 of the router artifact the host routes `auto` with */
  router_sha256: string;
  /** adapter as requests name it (`name@version`) → sha256 of its adapter_model.safetensors */
  adapters: Record<string, string>;
};

type CacheFile = { model_hash: string; max_tokens: number; replies: Record<string, ChatReply> };

export function openReplyCache(path: string, id: ServedIdentity): ReplyCache {
  const kept = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as CacheFile) : undefined;
  const file: CacheFile = kept && kept.model_hash === id.model_hash && kept.max_tokens === id.max_tokens ? kept : { model_hash: id.model_hash, max_tokens: id.max_tokens, replies: {} };
  const sha = (name: string) => {
    const s = id.adapters[name];
    if (!s) throw new Error(`no sha256 for adapter ${name}`);
    return s;
  };
  const key = (t: ChatTarget, question: string) =>
    JSON.stringify({
      question,
      to: t.adapters ? t.adapters.map((a) => [sha(a.name), a.weight]) : t.model === "auto" ? { router: id.router_sha256, adapters: Object.values(id.adapters).sort() } : t.model === "base" ? "base" : sha(t.model),
    });
  return {
    get: (t, q) => file.replies[key(t, q)],
    set: (t, q, reply) => {
      file.replies[key(t, q)] = reply;
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(`${path}.tmp`, JSON.stringify(file, null, 1) + "\n");
      renameSync(`${path}.tmp`, path);
    },
  };
}
