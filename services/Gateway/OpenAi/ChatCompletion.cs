using System.Text.Json.Nodes;
using Google.Protobuf;
using Sprint.Contracts.V1;

namespace Sprint.Gateway.OpenAi;

/// <summary>
/// A Solve's events as OpenAI chat completion objects. By default the response is the best-of-N answer, as OpenAI's
/// <c>best_of</c>: <c>choices</c> holds the <c>n</c> best candidates (<see cref="Ranked"/>), <c>choices[0]</c> the
/// verdict's chosen one; streamed, the candidates' progress travels in <c>sprint</c> extension chunks with no choices,
/// and the choices' content comes once the verdict is in (a client that concatenates <c>choices[0].delta.content</c>
/// ends with the chosen candidate's text). With <c>candidates_as_choices</c> (<paramref name="choices"/> null),
/// <c>choices[i]</c> is candidate i, streamed as it decodes. Either way <c>usage</c> counts prompt and generated tokens
/// over every candidate that ran, and <c>sprint</c> carries the plan, each candidate's result and check, and the
/// verdict in the proto JSON mapping of gateway.proto (proto field names, defaults written), so the protos' comments
/// document it; <c>sprint.choice_candidates</c> maps each choice to its candidate.
/// </summary>
public sealed class ChatCompletion(string id, long created, string model, bool includeUsage, int? choices)
{
    static readonly JsonFormatter Proto = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(true));

    readonly SortedDictionary<int, CandidateResult> results = [];
    readonly SortedDictionary<int, CheckResult> checks = [];
    readonly HashSet<int> started = [];
    Plan? plan;
    Verdict? verdict;

    /// <summary>One choice per candidate (candidates_as_choices), else the n best.</summary>
    bool PerCandidate => choices is null;

    public static JsonNode ToJson(IMessage message) => JsonNode.Parse(Proto.Format(message))!;

    /// <summary>Takes one event in; the chunks to stream for it (none, one, or — for the verdict — the choices too).</summary>
    public List<JsonObject> Add(SolveResponse e)
    {
        switch (e.EventCase)
        {
            case SolveResponse.EventOneofCase.Plan:
                plan = e.Plan;
                return [Chunk([], new JsonObject { ["plan"] = ToJson(e.Plan) })];
            case SolveResponse.EventOneofCase.Delta:
                return PerCandidate
                    ? [Chunk([Choice(e.Delta.Index, Delta(e.Delta.Index, e.Delta.Text), null)])]
                    : [Chunk([], new JsonObject { ["delta"] = ToJson(e.Delta) })];
            case SolveResponse.EventOneofCase.Candidate:
                results[e.Candidate.Index] = e.Candidate;
                return PerCandidate
                    ? [Chunk([Choice(e.Candidate.Index, Delta(e.Candidate.Index, null), FinishReason(e.Candidate))], new JsonObject { ["candidate"] = ToJson(e.Candidate) })]
                    : [Chunk([], new JsonObject { ["candidate"] = ToJson(e.Candidate) })];
            case SolveResponse.EventOneofCase.Check:
                checks[e.Check.Index] = e.Check;
                return [Chunk([], new JsonObject { ["check"] = ToJson(e.Check) })];
            case SolveResponse.EventOneofCase.Stop:
                // A candidate stopped at a failed written step: never one of the n best choices.
                return [Chunk([], new JsonObject { ["stop"] = ToJson(e.Stop) })];
            case SolveResponse.EventOneofCase.Restart:
                // The text streamed so far for this candidate is void: it is decoded again from the start.
                return [Chunk([], new JsonObject { ["restart"] = ToJson(e.Restart) })];
            case SolveResponse.EventOneofCase.Verdict:
                verdict = e.Verdict;
                var sprint = new JsonObject { ["verdict"] = ToJson(e.Verdict) };
                if (PerCandidate) return [Chunk([], sprint)];
                // The answer: each chosen candidate's whole text, then its finish reason, as OpenAI ends a choice.
                var best = Chosen();
                sprint["choice_candidates"] = new JsonArray([.. best.Select(r => JsonValue.Create(r.Index))]);
                List<JsonObject> chunks = [Chunk([], sprint)];
                for (int i = 0; i < best.Count; i++)
                {
                    chunks.Add(Chunk([Choice(i, new JsonObject { ["role"] = "assistant", ["content"] = best[i].Text }, null)]));
                    chunks.Add(Chunk([Choice(i, new JsonObject(), FinishReason(best[i]))]));
                }
                return chunks;
            default:
                return [];
        }
    }

    /// <summary>
    /// Candidate indices best first: the verdict's chosen candidate; then, for each next answer in the verdict's order
    /// (most votes first), its candidate with the highest mean log-probability; then the other voters (by their
    /// answer's rank), the candidates left out for a failed step, and those without an answer, each by mean
    /// log-probability. Failed candidates (no text) and stopped ones (a failed step while decoding) are not ranked; ties go to the lower index.
    /// </summary>
    public static List<int> Ranked(Verdict? verdict, IEnumerable<CandidateResult> candidates)
    {
        var finished = candidates.Where(r => r.Error.Length == 0 && r.FinishReason != Contracts.V1.FinishReason.Rejected).ToDictionary(r => r.Index);
        IEnumerable<CandidateResult> ByLogProb(IEnumerable<int> indices) =>
            indices.Where(finished.ContainsKey).Select(i => finished[i]).OrderByDescending(r => r.MeanLogProb).ThenBy(r => r.Index);
        var order = new List<int>();
        void Take(CandidateResult? r) { if (r is not null && !order.Contains(r.Index)) order.Add(r.Index); }
        if (verdict is not null)
        {
            if (finished.TryGetValue(verdict.ChosenCandidate, out var chosen)) Take(chosen);
            foreach (var answer in verdict.Votes) Take(ByLogProb(answer.Candidates).FirstOrDefault());
            foreach (var answer in verdict.Votes) foreach (var r in ByLogProb(answer.Candidates)) Take(r);
            foreach (var r in ByLogProb(verdict.ExcludedCandidates)) Take(r);
        }
        foreach (var r in ByLogProb(finished.Keys)) Take(r);
        return order;
    }

    /// <summary>The n best candidates (fewer when fewer finished).</summary>
    List<CandidateResult> Chosen() => [.. Ranked(verdict, results.Values).Take(choices ?? int.MaxValue).Select(i => results[i])];

    /// <summary>The delta of a choice's chunk: its first carries the role, as OpenAI's do.</summary>
    JsonObject Delta(int index, string? text)
    {
        var delta = new JsonObject();
        if (started.Add(index)) delta["role"] = "assistant";
        if (text is not null) delta["content"] = text;
        return delta;
    }

    static JsonObject Choice(int index, JsonObject delta, string? finishReason) => new()
    {
        ["index"] = index, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason,
    };

    JsonObject Chunk(JsonArray choices, JsonObject? sprint = null)
    {
        var chunk = new JsonObject
        {
            ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = model, ["choices"] = choices,
        };
        if (includeUsage) chunk["usage"] = null;
        if (sprint is not null) chunk["sprint"] = sprint;
        return chunk;
    }

    /// <summary>The usage chunk stream_options.include_usage asks for: no choices, the usage of the whole request.</summary>
    public JsonObject UsageChunk()
    {
        var chunk = Chunk([]);
        chunk["usage"] = Usage();
        return chunk;
    }

    /// <summary>OpenAI's finish reasons: stop (end of sequence or a stop string), length; null for a failed or cancelled candidate.</summary>
    static string? FinishReason(CandidateResult r) => r.Error.Length > 0 ? null : r.FinishReason switch
    {
        Contracts.V1.FinishReason.Stop => "stop",
        Contracts.V1.FinishReason.Length => "length",
        Contracts.V1.FinishReason.Rejected => "content_filter",   // candidates_as_choices: its text was cut where the step check flagged it
        _ => null,
    };

    /// <summary>What ran: prompt and generated tokens summed over every candidate (their final runs), not only the returned choices.</summary>
    JsonObject Usage()
    {
        long prompt = results.Values.Sum(r => (long)r.PromptTokens), completion = results.Values.Sum(r => (long)r.Tokens);
        return new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
    }

    /// <summary>The non-streamed response, once the Solve has ended: the n best candidates, or one choice per candidate by index.</summary>
    public JsonObject Completion()
    {
        List<CandidateResult> returned = PerCandidate ? [.. results.Values.Where(r => r.FinishReason != Contracts.V1.FinishReason.Rejected)] : Chosen();
        var choiceArray = new JsonArray();
        for (int i = 0; i < returned.Count; i++)
            choiceArray.Add(new JsonObject
            {
                ["index"] = PerCandidate ? returned[i].Index : i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = returned[i].Text, ["refusal"] = null },
                ["logprobs"] = null,
                ["finish_reason"] = FinishReason(returned[i]),
            });
        var candidates = new JsonArray();
        foreach (var r in results.Values) candidates.Add(ToJson(r));
        var checked_ = new JsonArray();
        foreach (var c in checks.Values) checked_.Add(ToJson(c));
        return new JsonObject
        {
            ["id"] = id, ["object"] = "chat.completion", ["created"] = created, ["model"] = model, ["choices"] = choiceArray,
            ["usage"] = Usage(),
            ["sprint"] = new JsonObject
            {
                ["plan"] = plan is null ? null : ToJson(plan),
                ["candidates"] = candidates,
                ["checks"] = checked_,
                ["verdict"] = verdict is null ? null : ToJson(verdict),
                ["choice_candidates"] = new JsonArray([.. returned.Select(r => JsonValue.Create(r.Index))]),
            },
        };
    }
}
