// The Solve page: one gRPC-Web call to the gateway (Connect's transport, messages generated from protos/ by
// protoc-gen-es), rendered as it streams: the plan, one pane per candidate whose text grows with its deltas, each
// candidate's answer and the Verifier's check of its steps (✓ n steps / ✗ at step k; the learned verifier's score when it
// has one), then the vote. A candidate stopped at a failed written step (the rejection policy) is shown as stopped,
// with its text so far and the step, and the candidate started in its place gets a pane of its own. Stop aborts the
// call; the gateway cancels the candidates on the generators.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Aggregation, AdaptiveParametersSchema, GatewayService, RejectionMode, RejectionParametersSchema, SolveRequestSchema, Strategy, type Plan, type PlannedCandidate, type CandidateResult, type CandidateStop, type Verdict } from "./gen/sprint/v1/gateway_pb";
import { FinishReason } from "./gen/sprint/v1/common_pb";
import type { CheckResult } from "./gen/sprint/v1/verifier_pb";

// An API key (Service:Auth on the gateway) goes with every call as "authorization: Bearer …"; it is kept for this
// tab only (sessionStorage), never in the URL.
const apiKeyStore = "sprint-api-key";
const withApiKey: Interceptor = (next) => async (req) => {
  const key = ($("api-key") as HTMLInputElement).value.trim();
  if (key) req.header.set("authorization", `Bearer ${key}`);
  return await next(req);
};
const client = createClient(GatewayService, createGrpcWebTransport({
  baseUrl: document.body.dataset.gateway || location.origin,
  interceptors: [withApiKey],
}));

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("solve");
const solveButton = $<HTMLButtonElement>("solve-button");
const stopButton = $<HTMLButtonElement>("stop-button");
const status = $<HTMLParagraphElement>("status");
const planSection = $<HTMLElement>("plan");
const panes = $<HTMLElement>("candidates");
const verdictSection = $<HTMLElement>("verdict");

// Fields of SolveRequest as the gateway names them in INVALID_ARGUMENT, and the input each error shows under.
const fieldInputs: Record<string, string> = {
  question: "question", n: "n", strategy: "strategy", max_new_tokens: "max-new-tokens", temperature: "temperature", seed: "seed", aggregation: "aggregation",
  "rejection.mode": "rejection", "rejection.max_candidates": "rejection",
};

let running: AbortController | null = null;

const apiKeyInput = $<HTMLInputElement>("api-key");
apiKeyInput.value = sessionStorage.getItem(apiKeyStore) ?? "";
apiKeyInput.addEventListener("change", () => {
  const key = apiKeyInput.value.trim();
  if (key) sessionStorage.setItem(apiKeyStore, key);
  else sessionStorage.removeItem(apiKeyStore);
});
if (apiKeyInput.value) apiKeyInput.closest("details")?.setAttribute("open", "");

// ?question=…&n=…&strategy=… (sprint solve --web prints such a link) fills the form.
const query = new URLSearchParams(location.search);
if (query.get("question")) ($("question") as HTMLTextAreaElement).value = query.get("question")!;
if (query.get("n")) ($("n") as HTMLInputElement).value = query.get("n")!;
if (query.get("strategy")) ($("strategy") as HTMLSelectElement).value = query.get("strategy")!.toUpperCase();

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void solve();
});
stopButton.addEventListener("click", () => running?.abort());

// A refused credential is shown under the API key field (opened if folded away).
const credentialCodes = [Code.Unauthenticated, Code.PermissionDenied];

function clearErrors() {
  status.textContent = "";
  status.className = "status";
  for (const id of [...Object.values(fieldInputs), "api-key"]) {
    $(`${id}-error`).textContent = "";
    $(id).removeAttribute("aria-invalid");
  }
}

function showError(error: unknown) {
  if (error instanceof ConnectError && error.code === Code.Canceled) {
    status.textContent = "Stopped.";
    return;
  }
  const e = ConnectError.from(error);
  // The gateway names the field in a trailer (and at the start of the message, "field: why").
  const field = e.metadata.get("sprint-invalid-field") ?? (e.code === Code.InvalidArgument ? e.rawMessage.split(":")[0] : null);
  const input = credentialCodes.includes(e.code) ? "api-key" : field ? fieldInputs[field] : undefined;
  if ((e.code === Code.InvalidArgument || credentialCodes.includes(e.code)) && input) {
    $(input).closest("details")?.setAttribute("open", "");
    status.textContent = "";
    $(`${input}-error`).textContent = e.rawMessage;
    $(input).setAttribute("aria-invalid", "true");
    $(input).focus();
  } else {
    status.textContent = `${Code[e.code]}: ${e.rawMessage}`;
    status.className = "status error";
  }
}

function request() {
  const value = (id: string) => ($(id) as HTMLInputElement).value.trim();
  const r = create(SolveRequestSchema, {
    question: value("question"),
    n: Number(value("n") || 0),
    strategy: Strategy[value("strategy") as keyof typeof Strategy],
    maxNewTokens: Number(value("max-new-tokens") || 0),
    aggregation: Aggregation[value("aggregation") as keyof typeof Aggregation],
    rejection: create(RejectionParametersSchema, { mode: RejectionMode[value("rejection") as keyof typeof RejectionMode] }),
  });
  if (($("adaptive") as HTMLInputElement).checked) r.adaptive = create(AdaptiveParametersSchema, {});
  if (value("temperature") !== "") r.temperature = Number(value("temperature"));
  if (value("seed") !== "") r.seed = BigInt(value("seed"));
  return r;
}

async function solve() {
  clearErrors();
  planSection.replaceChildren();
  panes.replaceChildren();
  verdictSection.replaceChildren();
  running = new AbortController();
  solveButton.disabled = true;
  stopButton.disabled = false;
  status.textContent = "Solving…";
  const texts = new Map<number, HTMLElement>();
  let plan: Plan | undefined;
  try {
    for await (const response of client.solve(request(), { signal: running.signal })) {
      const event = response.event;
      switch (event.case) {
        case "plan":
          plan = event.value;
          renderPlan(event.value, texts);
          break;
        case "stop":
          renderStop(event.value, plan, texts);
          break;
        case "delta": {
          const pane = texts.get(event.value.index);
          if (pane) {
            pane.textContent += event.value.text;
            pane.closest(".pane")?.setAttribute("data-state", "streaming");
          }
          break;
        }
        case "restart": {
          const pane = texts.get(event.value.index);
          if (pane) pane.textContent = "";
          break;
        }
        case "candidate":
          renderResult(event.value);
          break;
        case "check":
          renderCheck(event.value);
          break;
        case "verdict":
          renderVerdict(event.value);
          status.textContent = "Done.";
          break;
      }
    }
  } catch (error) {
    showError(error);
  } finally {
    running = null;
    solveButton.disabled = false;
    stopButton.disabled = true;
  }
}

function renderPlan(plan: Plan, texts: Map<number, HTMLElement>) {
  const caption = document.createElement("h2");
  caption.textContent = `Plan: ${Strategy[plan.strategy].toLowerCase()}, ${plan.candidates.length} candidates, seed ${plan.seed}`;
  planSection.append(caption);
  if (plan.fallback) {
    // The heads could not be chosen (the embedding service or the head selector did not answer): sampled instead.
    const note = document.createElement("p");
    note.className = "fallback";
    note.id = "plan-fallback";
    note.textContent = `Fell back to ${Strategy[plan.strategy].toLowerCase()}: ${Strategy[plan.fallback.requested].toLowerCase()}'s heads could not be chosen (${plan.fallback.reason})`;
    planSection.append(note);
  }
  const rejection = plan.rejection?.mode ?? RejectionMode.NONE;
  if (rejection === RejectionMode.STOP || rejection === RejectionMode.REPLACE) {
    const note = document.createElement("p");
    note.className = "rejection";
    note.id = "plan-rejection";
    note.textContent = rejection === RejectionMode.REPLACE
      ? `A candidate whose written step fails is stopped there and a fresh one starts in its place (up to ${plan.rejection!.maxCandidates} in all).`
      : "A candidate whose written step fails is stopped there.";
    planSection.append(note);
  }
  for (const c of plan.candidates) addPane(c, texts);
}

function addPane(c: PlannedCandidate, texts: Map<number, HTMLElement>) {
  const pane = document.createElement("article");
  pane.className = "pane";
  pane.id = `candidate-${c.index}`;
  pane.dataset.state = "waiting";
  pane.setAttribute("aria-labelledby", `candidate-${c.index}-title`);
  const title = document.createElement("h3");
  title.id = `candidate-${c.index}-title`;
  const heads = c.configuration?.name ?? "";
  title.textContent = `#${c.index} ${heads}`;
  const meta = document.createElement("p");
  meta.className = "meta";
  // Float32 on the wire: 0.7 arrives as 0.699999988…; a score only where the strategy has one.
  meta.textContent = [c.score !== 0 ? `score ${c.score.toFixed(3)}` : "", c.temperature > 0 ? `temperature ${+c.temperature.toFixed(3)}` : "greedy"]
    .filter((part) => part.length > 0).join(" · ");
  const text = document.createElement("pre");
  text.className = "text";
  const answer = document.createElement("p");
  answer.className = "answer";
  const check = document.createElement("p");
  check.className = "check";
  pane.append(title, meta, text, answer, check);
  panes.append(pane);
  texts.set(c.index, text);
}

// A candidate stopped at its first failed step: its pane says where; its replacement gets a pane.
function renderStop(stop: CandidateStop, plan: Plan | undefined, texts: Map<number, HTMLElement>) {
  const pane = $(`candidate-${stop.index}`);
  if (pane) {
    pane.dataset.state = "stopped";
    const line = pane.querySelector<HTMLElement>(".check")!;
    line.className = "stop";
    const f = stop.failure;
    line.textContent = `stopped at token ${stop.atToken}: step ${f?.step} ${f?.text} (is ${f?.computed})`
      + (stop.replacement !== undefined ? ` · #${stop.replacement} starts in its place` : "");
  }
  const next = plan?.replacements.find((c) => c.index === stop.replacement);
  if (next && !texts.has(next.index)) addPane(next, texts);
}

function renderResult(result: CandidateResult) {
  const pane = $(`candidate-${result.index}`);
  if (!pane) return;
  if (result.finishReason === FinishReason.REJECTED) {
    pane.dataset.state = "stopped";
    pane.querySelector(".answer")!.textContent = `stopped · excluded · ${result.tokens} tokens`;
    pane.querySelector(".text")!.textContent = result.text;
    return;
  }
  pane.dataset.state = result.error ? "failed" : "done";
  const answer = pane.querySelector(".answer")!;
  answer.textContent = result.error ? `failed: ${result.error}` : `answer: ${result.answer || "none"} · ${result.tokens} tokens`;
  if (!result.error) pane.querySelector(".text")!.textContent = result.text;
}

// The Verifier's word on a finished candidate's written arithmetic.
function renderCheck(check: CheckResult) {
  if ($(`candidate-${check.index}`)?.dataset.state === "stopped") return;   // its stop says where it failed
  const line = $(`candidate-${check.index}`)?.querySelector<HTMLElement>(".check");
  if (!line) return;
  const f = check.firstFailure;
  line.dataset.check = check.failedSteps > 0 ? "failed" : check.checkedSteps > 0 ? "holds" : "unchecked";
  line.textContent = (check.failedSteps > 0 && f ? `✗ at step ${f.step}: ${f.text} (is ${f.computed})`
    : check.checkedSteps > 0 ? `✓ ${check.checkedSteps} step${check.checkedSteps === 1 ? "" : "s"} checked` : "– no step to check")
    + (check.score !== undefined ? ` · verifier ${(100 * check.score).toFixed(0)} % right` : "");
}

function renderVerdict(verdict: Verdict) {
  const heading = document.createElement("h2");
  heading.textContent = "Verdict";
  const answer = document.createElement("p");
  answer.className = "verdict-answer";
  answer.id = "verdict-answer";
  answer.textContent = verdict.answer || "no answer";
  const votes = document.createElement("ul");
  for (const v of verdict.votes) {
    const item = document.createElement("li");
    const weight = verdict.aggregation === Aggregation.VERIFIER_WEIGHTED ? `, weight ${v.weight.toFixed(2)}` : "";
    item.textContent = `${v.answer}: ${v.votes} vote${v.votes === 1 ? "" : "s"}${weight} (candidates ${v.candidates.join(", ")})`;
    if (v.answer === verdict.answer) item.className = "chosen";
    votes.append(item);
  }
  verdictSection.append(heading, answer, votes);
  const notes: [string, number[]][] = [["failed", verdict.failedCandidates], ["left out of the vote (a step fails)", verdict.excludedCandidates],
    ["not needed (the answer was decided)", verdict.unneededCandidates], ["stopped at a failed step", verdict.stoppedCandidates]];
  for (const [what, indices] of notes.filter(([, i]) => i.length > 0)) {
    const line = document.createElement("p");
    line.textContent = `${what}: ${indices.join(", ")}`;
    verdictSection.append(line);
  }
  for (const i of verdict.unneededCandidates) $(`candidate-${i}`)?.setAttribute("data-state", "unneeded");
  const tokens = document.createElement("p");
  tokens.id = "verdict-tokens";
  tokens.textContent = `${verdict.generatedTokens} tokens generated`;
  verdictSection.append(tokens);
  const rule = document.createElement("p");
  rule.className = "rule";
  rule.id = "verdict-rule";
  rule.textContent = verdict.rule;
  verdictSection.append(rule);
  document.getElementById(`candidate-${verdict.chosenCandidate}`)?.classList.add("chosen");
}
