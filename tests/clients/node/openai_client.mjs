// The official `openai` package against the gateway's OpenAI-compatible routes (it speaks HTTP/1.1: the web port).
// Usage: node openai_client.mjs BASE_URL MODEL QUESTION BEST_OF SEED MODE
//   BEST_OF: the candidates (best_of); the choices are OpenAI's default (n = 1) unless the mode says otherwise
//   MODE: complete (default parameters but best_of), best3 (n = 3), candidates (candidates_as_choices: one choice per
//         candidate), stream (streamed, with usage), helper (the SDK's streaming helper and its final completion),
//         stream-candidates (streamed, candidates_as_choices), errors (the refusals), abort (hang up after the first progress)
// The key comes from SPRINT_API_KEY (any string when the suite has no auth). Prints one JSON object.
import OpenAI from "openai";

const [baseURL, model, question, bestOf, seed, mode] = process.argv.slice(2);
// No retries: a 429 must reach us, not be retried after Retry-After.
const client = new OpenAI({ baseURL, apiKey: process.env.SPRINT_API_KEY ?? "none", maxRetries: 0, timeout: 120_000 });
// rejection: SPRINT's extension field (verify while decoding); "none" here, so that every candidate runs to its end
// and the token counts equal the gRPC Solve's the test compares them with.
const request = { model, messages: [{ role: "user", content: question }], best_of: Number(bestOf), seed: Number(seed), max_tokens: 48, rejection: "none" };

async function refusal(call) {
  try { await call(); return { status: 200 }; }
  catch (e) {
    if (!(e instanceof OpenAI.APIError)) throw e;
    return { status: e.status, type: e.type, param: e.param, code: e.code, message: e.message, retryAfter: e.headers?.get?.("retry-after") ?? null };
  }
}

const summary = completion => ({
  object: completion.object, model: completion.model,
  choices: completion.choices.map(c => ({ index: c.index, content: c.message.content, finish_reason: c.finish_reason })),
  usage: completion.usage,
  sprint: completion.sprint,
});

async function stream(extra) {
  const stream = await client.chat.completions.create({ ...request, ...extra, stream: true, stream_options: { include_usage: true } });
  const texts = {}, finish = {}, sprint = [];
  let usage = null, chunks = 0, model = null;
  for await (const chunk of stream) {   // the SDK's own SSE reader: it ends at data: [DONE]
    chunks++;
    model = chunk.model;
    for (const c of chunk.choices) {
      texts[c.index] = (texts[c.index] ?? "") + (c.delta?.content ?? "");
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
    if (chunk.sprint) sprint.push(Object.keys(chunk.sprint)[0]);
  }
  return { chunks, model, texts, finish, usage, sprint };
}

if (mode === "complete") {
  console.log(JSON.stringify(summary(await client.chat.completions.create(request))));
} else if (mode === "best3") {
  console.log(JSON.stringify(summary(await client.chat.completions.create({ ...request, n: 3 }))));
} else if (mode === "candidates") {
  console.log(JSON.stringify(summary(await client.chat.completions.create({ ...request, candidates_as_choices: true }))));
} else if (mode === "stream") {
  console.log(JSON.stringify(await stream({})));
} else if (mode === "stream-candidates") {
  console.log(JSON.stringify(await stream({ candidates_as_choices: true })));
} else if (mode === "helper") {
  // The SDK's streaming helper: content events as they come, then the completion it assembled from the chunks.
  const runner = client.chat.completions.stream(request);
  let content = "";
  runner.on("content", delta => { content += delta; });
  const final = await runner.finalChatCompletion();
  console.log(JSON.stringify({ content, final: final.choices.map(c => ({ index: c.index, content: c.message.content, finish_reason: c.finish_reason })) }));
} else if (mode === "errors") {
  const results = {
    badN: await refusal(() => client.chat.completions.create({ ...request, n: 0 })),
    nOverBestOf: await refusal(() => client.chat.completions.create({ ...request, n: Number(bestOf) + 1 })),
    unknownModel: await refusal(() => client.chat.completions.create({ ...request, model: "gpt-4o" })),
    noKey: await refusal(() => new OpenAI({ baseURL, apiKey: "sk-not-a-key", maxRetries: 0 }).chat.completions.create(request)),
  };
  // Spend the rate limit on cheap calls, then one more.
  for (let i = 0; i < 20; i++) {
    const r = await refusal(() => client.models.list());
    if (r.status === 429) { results.limited = r; break; }
  }
  console.log(JSON.stringify(results));
} else if (mode === "abort") {
  const stream = await client.chat.completions.create({ ...request, max_tokens: 400, stream: true });
  for await (const chunk of stream) {
    if (chunk.sprint?.delta) { stream.controller.abort(); break; }   // the candidates are decoding
  }
  console.log(JSON.stringify({ aborted: true }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
