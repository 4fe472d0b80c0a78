import { describe, expect, it } from "vitest";
import { conversationFeatures, routeMessages, routeText } from "./decision.ts";
import { combineFeatures, extractFeatures } from "./features.ts";
import { committedRouter } from "./test-data.ts";

const router = committedRouter();

describe("routeMessages: explicit model", () => {
  it("bypasses the classifier when the request names a model other than auto", () => {
    const decision = routeMessages(router, [{ role: "user", content: "how much is the enterprise plan?" }], { model: "support-v2" });
    expect(decision).toEqual({ domain: "support-v2", confidence: 1, scores: {}, reason: "explicit" });
  });

  it("classifies when the model is auto or absent", () => {
    const messages = [{ role: "user", content: "I was charged twice for my order, please refund one payment" }];
    expect(routeMessages(router, messages, { model: "auto" })).toMatchObject({ domain: "support", reason: "classifier" });
    expect(routeMessages(router, messages)).toEqual(routeMessages(router, messages, { model: "auto" }));
  });
});

describe("routeMessages: thresholds", () => {
  const text = "can you send us a quote for 40 seats on the business plan?";
  const decision = routeText(router, text);

  it("routes to the top domain with calibrated scores that sum to 1", () => {
    expect(decision.domain).toBe("sales");
    expect(decision.reason).toBe("classifier");
    expect(Object.values(decision.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(decision.confidence).toBe(decision.scores.sales);
  });

  it("falls back to the base model when the confidence is below the domain's threshold", () => {
    const above = routeText(router, text, { thresholds: { sales: decision.confidence + 1e-9 } });
    expect(above).toEqual({ domain: null, confidence: decision.confidence, scores: decision.scores, reason: "fallback" });
  });

  it("routes when the confidence equals the threshold, and other domains' overrides do not matter", () => {
    expect(routeText(router, text, { thresholds: { sales: decision.confidence, support: 1, technical: 1 } }).domain).toBe("sales");
  });

  it("uses the thresholds stored in the artifact by default", () => {
    expect(Object.keys(router.thresholds).sort()).toEqual(["sales", "support", "technical"]);
    for (const t of Object.values(router.thresholds)) expect(t).toBeGreaterThanOrEqual(0.3);
  });

  it("falls back when the top class is none, whatever the thresholds", () => {
    const chat = routeText(router, "what's a good recipe for banana bread?", { thresholds: { sales: 0, support: 0, technical: 0 } });
    expect(chat.domain).toBeNull();
    expect(chat.reason).toBe("fallback");
    expect(chat.confidence).toBe(chat.scores.none);
  });
});

describe("routeMessages: conversations", () => {
  it("defines the conversation vector as L2(f(latest) + 0.3·f(previous user turn) + 0.09·f(the one before))", () => {
    const turns = ["my order never arrived", "the api returns 500", "what now?"];
    const messages = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: turns[0] },
      { role: "assistant", content: "Sorry to hear that! How much does the enterprise plan cost?" },
      { role: "user", content: turns[1] },
      { role: "assistant", content: "Let me check." },
      { role: "user", content: turns[2] },
    ];
    const expected = combineFeatures([
      { vector: extractFeatures(turns[2] as string, router.features), weight: 1 },
      { vector: extractFeatures(turns[1] as string, router.features), weight: 0.3 },
      { vector: extractFeatures(turns[0] as string, router.features), weight: 0.09 },
    ]);
    const actual = conversationFeatures(router, messages);
    expect(Array.from(actual?.indices ?? [])).toEqual(Array.from(expected.indices));
    expect(Array.from(actual?.values ?? [])).toEqual(Array.from(expected.values));
  });

  it("lets earlier user turns decide an ambiguous follow-up", () => {
    const followUp = { role: "user", content: "it still hasn't been sorted out, what should I do?" };
    const afterRefund = routeMessages(router, [{ role: "user", content: "I returned the jacket three weeks ago and still have no refund" }, { role: "assistant", content: "We're on it." }, followUp]);
    const afterApi = routeMessages(router, [{ role: "user", content: "the python sdk throws 401 unauthorized when calling /v1/orders" }, { role: "assistant", content: "We're on it." }, followUp]);
    expect(afterRefund.scores.support).toBeGreaterThan(afterApi.scores.support as number);
    expect(afterApi.scores.technical).toBeGreaterThan(afterRefund.scores.technical as number);
  });

  it("routes on the latest user turn when it is clear, whatever came before", () => {
    const decision = routeMessages(router, [
      { role: "user", content: "the python sdk throws 401 unauthorized when calling /v1/orders" },
      { role: "user", content: "also, how much would 50 seats on the enterprise plan cost per year?" },
    ]);
    expect(decision.domain).toBe("sales");
  });

  it("ignores system and assistant turns", () => {
    const user = { role: "user", content: "my parcel was delivered to the wrong address" };
    const withOthers = routeMessages(router, [{ role: "system", content: "pricing plans quotes discounts" }, user, { role: "assistant", content: "api sdk error 500" }]);
    expect(withOthers).toEqual(routeMessages(router, [user]));
  });

  it("reads the text parts of OpenAI content arrays", () => {
    const decision = routeMessages(router, [{ role: "user", content: [{ type: "text", text: "webhooks are not being delivered to my server" }, { type: "image_url" }] }]);
    expect(decision.domain).toBe("technical");
  });
});

describe("routeMessages: inputs it cannot classify", () => {
  const fallback = { domain: null, confidence: 0, scores: {}, reason: "fallback" };

  it("falls back for empty and whitespace-only messages and for no user message", () => {
    expect(routeText(router, "")).toEqual(fallback);
    expect(routeText(router, "   \n\t  ")).toEqual(fallback);
    expect(routeMessages(router, [])).toEqual(fallback);
    expect(routeMessages(router, [{ role: "system", content: "hi" }, { role: "user", content: null }])).toEqual(fallback);
  });

  it("decides a 100 KB message by reading only its tail (its latency is in the router bench)", () => {
    const huge = "I was charged twice, refund me please. " + "lorem ipsum dolor sit amet ".repeat(4000).slice(0, 100_000);
    const decision = routeText(router, huge);
    expect(decision).toEqual(routeText(router, huge.slice(-router.features.maxChars)));
    expect(["classifier", "fallback"]).toContain(decision.reason);
    const hugeComplaint = "x".repeat(100_000) + " I was charged twice for the same order, please refund me";
    expect(routeText(router, hugeComplaint).domain).toBe("support");
  });

  it("routes Spanish, German, French and Portuguese like English", () => {
    for (const [text, domain] of [
      ["Ich habe mein Passwort vergessen und komme nicht mehr in mein Konto.", "support"],
      ["¿Cuánto cuesta el plan empresarial para veinte personas?", "sales"],
      ["Bonjour, ma commande n'est toujours pas arrivée.", "support"],
      ["A API retorna erro 500 quando envio uma requisição para /v1/orders", "technical"],
    ] as const) {
      expect(routeText(router, text).domain, text).toBe(domain);
    }
  });

  it("sends messages in languages it was not trained on to the base model", () => {
    for (const text of [
      "Ciao, non ho ricevuto il mio ordine e vorrei sapere perché",
      "Ik wil graag mijn geld terug voor de bestelling, het pakket is niet aangekomen",
      "この注文はいつ届きますか？",
      "Почему API возвращает ошибку 500?",
      "我想退款，请帮忙",
      "مرحبا، أين طلبي؟",
    ]) {
      expect(routeText(router, text), text).toEqual({ domain: null, confidence: 0, scores: {}, reason: "fallback" });
    }
  });

  it("does not throw on odd input: lone surrogates, control characters, emoji only", () => {
    for (const text of ["\ud800\udc00\ud800", "\u0000\u0001\u0007", "😀😀😀", "a".repeat(5000)]) {
      expect(() => routeText(router, text)).not.toThrow();
    }
  });
});
