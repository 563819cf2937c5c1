// The official `openai` package against the gateway's OpenAI-compatible routes (it speaks HTTP/1.1: the web port).
// Usage: node openai_client.mjs BASE_URL MODEL QUESTION N SEED MODE
//   MODE: complete (non-streamed), stream (streamed, with usage), errors (the refusals), abort (hang up after the first content)
// The key comes from SPRINT_API_KEY (any string when the suite has no auth). Prints one JSON object.
import OpenAI from "openai";

const [baseURL, model, question, n, seed, mode] = process.argv.slice(2);
// No retries: a 429 must reach us, not be retried after Retry-After.
const client = new OpenAI({ baseURL, apiKey: process.env.SPRINT_API_KEY ?? "none", maxRetries: 0, timeout: 120_000 });
const request = { model, messages: [{ role: "user", content: question }], n: Number(n), seed: Number(seed), max_tokens: 48 };

async function refusal(call) {
  try { await call(); return { status: 200 }; }
  catch (e) {
    if (!(e instanceof OpenAI.APIError)) throw e;
    return { status: e.status, type: e.type, param: e.param, code: e.code, message: e.message, retryAfter: e.headers?.get?.("retry-after") ?? null };
  }
}

if (mode === "complete") {
  const completion = await client.chat.completions.create(request);
  console.log(JSON.stringify({
    object: completion.object,
    choices: completion.choices.map(c => ({ index: c.index, content: c.message.content, finish_reason: c.finish_reason })),
    usage: completion.usage,
    sprint: completion.sprint,
  }));
} else if (mode === "stream") {
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  const texts = {}, finish = {}, sprint = [];
  let usage = null, chunks = 0;
  for await (const chunk of stream) {   // the SDK's own SSE reader: it ends at data: [DONE]
    chunks++;
    for (const c of chunk.choices) {
      texts[c.index] = (texts[c.index] ?? "") + (c.delta?.content ?? "");
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
    if (chunk.sprint) sprint.push(Object.keys(chunk.sprint)[0]);
  }
  console.log(JSON.stringify({ chunks, texts, finish, usage, sprint }));
} else if (mode === "errors") {
  const results = {
    badN: await refusal(() => client.chat.completions.create({ ...request, n: 0 })),
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
    if (chunk.choices.some(c => c.delta?.content)) { stream.controller.abort(); break; }
  }
  console.log(JSON.stringify({ aborted: true }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
