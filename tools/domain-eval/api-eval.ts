/**
 * Fact accuracy through the HTTP API: each held-out question as one user message to
 * `POST /v1/chat/completions`, greedy (temperature 0), three ways — `model: "auto"` (router, then
 * the mapped adapter), the question's true domain's adapter by name, and the base — plus where the
 * router sent it (the `x-lora-*` headers). And weighted compositions (`adapters: [{name, weight}]`)
 * on questions that need facts of several domains. Only HTTP: any host serving the API will do.
 *
 * @example const rows = await evaluateHeldout(url, mixDomains(byDomain), { adapters, maxTokens: 48 });
 */
import { readFileSync } from "node:fs";
import { statesFact, type HeldoutQuestion } from "./facts.ts";

/** What a request names: a model (`auto`, `base`, `name@version`) and optionally a weighted composition. */
export type ChatTarget = { model: string; adapters?: { name: string; weight: number }[] };

/** One answer and how it was routed (the response's `x-lora-*` headers). */
export type ChatReply = { text: string; domain: string; adapter: string; reason: string; confidence: number | null; completionTokens: number };

/** The three ways each held-out question is asked. */
export const WAYS = ["auto", "own", "base"] as const;
export type Way = (typeof WAYS)[number];

export type HeldoutResult = HeldoutQuestion & {
  replies: Record<Way, string>;
  correct: Record<Way, boolean>;
  /** where `auto` went: domain ("none" for the base), adapter label, reason, confidence */
  routed: { domain: string; adapter: string; reason: string; confidence: number | null };
};

/** How often a 429 or 503 (admission queue full, adapter still loading) is retried after its Retry-After. */
const RETRIES = 10;

/** One greedy chat completion with a single user message; 429 and 503 are retried as a client should. */
export async function askChat(url: string, question: string, target: ChatTarget, maxTokens: number): Promise<ChatReply> {
  let res: Response;
  for (let attempt = 0; ; attempt++) {
    res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...target, messages: [{ role: "user", content: question }], max_tokens: maxTokens, temperature: 0 }),
    });
    if ((res.status !== 429 && res.status !== 503) || attempt === RETRIES) break;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 1000 * Math.max(1, Number(res.headers.get("retry-after")) || 1)));
  }
  const body = (await res.json()) as { choices?: { message: { content: string } }[]; usage?: { completion_tokens: number }; error?: { message: string } };
  if (!res.ok || !body.choices) throw new Error(`chat with ${JSON.stringify(target)} answered ${res.status}: ${body.error?.message ?? JSON.stringify(body)}`);
  const confidence = Number(res.headers.get("x-router-confidence"));
  return {
    text: body.choices[0]!.message.content.trim(),
    domain: res.headers.get("x-lora-domain") ?? "none",
    adapter: res.headers.get("x-lora-adapter") ?? "none",
    reason: res.headers.get("x-lora-route-reason") ?? "",
    confidence: Number.isFinite(confidence) ? confidence : null,
    completionTokens: body.usage?.completion_tokens ?? 0,
  };
}

/** The domains' questions interleaved (one of each in turn), so `auto` sees them mixed. */
export function mixDomains(byDomain: Record<string, HeldoutQuestion[]>): HeldoutQuestion[] {
  const lists = Object.values(byDomain);
  const out: HeldoutQuestion[] = [];
  for (let i = 0; i < Math.max(0, ...lists.map((l) => l.length)); i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

/**
 * Every question asked `auto`, to its domain's adapter (`adapters[domain]`, `name@version`) and to
 * the base (one question's three requests one after another).
 */
export async function evaluateHeldout(
  url: string,
  questions: readonly HeldoutQuestion[],
  o: EvalOptions,
): Promise<HeldoutResult[]> {
  for (const q of questions) if (!o.adapters[q.domain]) throw new Error(`no adapter is mapped to domain ${q.domain}`);
  return mapConcurrently(questions, o, async (q) => {
    const auto = await reply(url, q.question, { model: "auto" }, o);
    const replies = { auto: auto.text, own: (await reply(url, q.question, { model: o.adapters[q.domain]! }, o)).text, base: (await reply(url, q.question, { model: "base" }, o)).text };
    const correct = Object.fromEntries(WAYS.map((w) => [w, statesFact(replies[w], q.accept)])) as Record<Way, boolean>;
    return { ...q, replies, correct, routed: { domain: auto.domain, adapter: auto.adapter, reason: auto.reason, confidence: auto.confidence } };
  });
}

/**
 * `adapters`: domain → adapter (`name@version`); `concurrency`: questions in flight at once
 * (default 1; more only pays on a host that batches decode steps); `cache`: replies kept from an
 * earlier run with the same inputs; `progress` after each question.
 */
export type EvalOptions = { adapters: Record<string, string>; maxTokens: number; concurrency?: number; cache?: ReplyCache; progress?: (done: number, total: number) => void };

/** Replies kept across runs, each under a key of everything it depends on (tools/domain-eval/reply-cache.ts). */
export type ReplyCache = { get(target: ChatTarget, question: string): ChatReply | undefined; set(target: ChatTarget, question: string, reply: ChatReply): void };

/** A reply from the cache, else from the API (and then cached). */
async function reply(url: string, question: string, target: ChatTarget, o: EvalOptions): Promise<ChatReply> {
  const kept = o.cache?.get(target, question);
  if (kept !== undefined) return kept;
  const fresh = await askChat(url, question, target, o.maxTokens);
  o.cache?.set(target, question, fresh);
  return fresh;
}

/** `fn` over `items` with at most `o.concurrency` in flight; results in input order. */
async function mapConcurrently<T, R>(items: readonly T[], o: EvalOptions, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
      o.progress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 1) }, worker));
  return out;
}

const ratio = (n: number, d: number) => (d ? Math.round((n / d) * 1e4) / 1e4 : 0);

export type HeldoutSummary = {
  questions: number;
  /** per domain and "all": share of questions whose reply states the fact, each way */
  fact_accuracy: Record<string, Record<Way, number> & { questions: number }>;
  /** auto − own on all questions, in percentage points (the goal: ≥ −5) */
  auto_minus_own_points: number;
  routing: {
    /** share of questions `auto` sent to their true domain's adapter */
    accuracy: number;
    per_domain: Record<string, number>;
    /** true domain → routed domain ("none": the base) → questions */
    confusion: Record<string, Record<string, number>>;
  };
  /** questions routed right, and how many of those `auto` answered with exactly the named adapter's reply */
  auto_equals_own: { routed_right: number; identical: number };
};

export function summarizeHeldout(results: readonly HeldoutResult[], adapters: Record<string, string>): HeldoutSummary {
  const domains = [...new Set(results.map((r) => r.domain))];
  const accuracy = (rows: readonly HeldoutResult[]) => ({
    ...(Object.fromEntries(WAYS.map((w) => [w, ratio(rows.filter((r) => r.correct[w]).length, rows.length)])) as Record<Way, number>),
    questions: rows.length,
  });
  const right = (r: HeldoutResult) => r.routed.domain === r.domain && r.routed.adapter === adapters[r.domain];
  const confusion: Record<string, Record<string, number>> = {};
  for (const r of results) (confusion[r.domain] ??= {})[r.routed.domain] = (confusion[r.domain]![r.routed.domain] ?? 0) + 1;
  const routedRight = results.filter(right);
  const all = accuracy(results);
  return {
    questions: results.length,
    fact_accuracy: { ...Object.fromEntries(domains.map((d) => [d, accuracy(results.filter((r) => r.domain === d))])), all },
    auto_minus_own_points: Math.round((all.auto - all.own) * 1e4) / 100,
    routing: {
      accuracy: ratio(routedRight.length, results.length),
      per_domain: Object.fromEntries(domains.map((d) => [d, ratio(routedRight.filter((r) => r.domain === d).length, results.filter((r) => r.domain === d).length)])),
      confusion,
    },
    auto_equals_own: { routed_right: routedRight.length, identical: routedRight.filter((r) => r.replies.auto === r.replies.own).length },
  };
}

/** A question whose answer needs facts from several domains' sheets (data/chat/composed.jsonl). */
export type ComposedQuestion = { question: string; facts: { domain: string; fact: string; accept: string[] }[] };

/** data/chat/composed.jsonl rows `{question, facts: [{domain, fact}]}`, each fact's accepted strings taken from the held-out set. */
export function readComposed(path: string, heldout: readonly HeldoutQuestion[]): ComposedQuestion[] {
  const accept = new Map(heldout.map((q) => [`${q.domain}/${q.fact}`, q.accept]));
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((line, i) => {
      const row = JSON.parse(line) as { question: string; facts: { domain: string; fact: string }[] };
      return {
        question: row.question,
        facts: row.facts.map((f) => {
          const a = accept.get(`${f.domain}/${f.fact}`);
          if (!a) throw new Error(`${path}:${i + 1}: no held-out question states ${f.domain}/${f.fact}`);
          return { ...f, accept: a };
        }),
      };
    });
}

export type ComposedResult = ComposedQuestion & {
  /** config label → reply and which of the question's facts it states */
  answers: Record<string, { target: ChatTarget; reply: string; states: boolean[] }>;
};

/**
 * Each question asked to the equal-weight composition of its domains' adapters (weight 1/k each),
 * to each of those adapters alone, `auto` and the base.
 */
export async function evaluateComposed(
  url: string,
  questions: readonly ComposedQuestion[],
  o: EvalOptions,
): Promise<ComposedResult[]> {
  return mapConcurrently(questions, o, async (q) => {
    const domains = [...new Set(q.facts.map((f) => f.domain))];
    const weight = Math.round((1 / domains.length) * 1e4) / 1e4;
    const targets: Record<string, ChatTarget> = {
      [domains.map((d) => `${d} ${weight}`).join(" + ")]: { model: "auto", adapters: domains.map((d) => ({ name: o.adapters[d]!, weight })) },
      ...Object.fromEntries(domains.map((d) => [`${d} alone`, { model: o.adapters[d]! }])),
      auto: { model: "auto" },
      base: { model: "base" },
    };
    const answers: ComposedResult["answers"] = {};
    for (const [label, target] of Object.entries(targets)) {
      const text = (await reply(url, q.question, target, o)).text;
      answers[label] = { target, reply: text, states: q.facts.map((f) => statesFact(text, f.accept)) };
    }
    return { ...q, answers };
  });
}

/** Per config label: questions asked, facts stated of facts asked, questions with every fact stated. */
export function summarizeComposed(results: readonly ComposedResult[]): Record<string, { questions: number; facts: number; facts_stated: number; all_stated: number }> {
  const out: Record<string, { questions: number; facts: number; facts_stated: number; all_stated: number }> = {};
  for (const r of results) {
    for (const [label, a] of Object.entries(r.answers)) {
      const s = (out[label] ??= { questions: 0, facts: 0, facts_stated: 0, all_stated: 0 });
      s.questions++;
      s.facts += a.states.length;
      s.facts_stated += a.states.filter(Boolean).length;
      s.all_stated += a.states.every(Boolean) ? 1 : 0;
    }
  }
  return out;
}
