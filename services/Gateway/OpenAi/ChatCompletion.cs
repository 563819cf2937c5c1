using System.Text.Json.Nodes;
using Google.Protobuf;
using Sprint.Contracts.V1;

namespace Sprint.Gateway.OpenAi;

/// <summary>
/// A Solve's events as OpenAI chat completion objects: <c>choices[i]</c> is candidate i; <c>usage</c> counts prompt
/// and generated tokens over all candidates; the SPRINT extension <c>sprint</c> carries the plan, each candidate's
/// result and check, and the verdict in the proto JSON mapping of gateway.proto (proto field names, defaults
/// written), so the protos' comments document it. Streamed: <c>chat.completion.chunk</c> objects, one per event.
/// </summary>
public sealed class ChatCompletion(string id, long created, string model, bool includeUsage)
{
    static readonly JsonFormatter Proto = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(true));

    readonly SortedDictionary<int, CandidateResult> results = [];
    readonly SortedDictionary<int, CheckResult> checks = [];
    readonly HashSet<int> started = [];
    Plan? plan;
    Verdict? verdict;

    public static JsonNode ToJson(IMessage message) => JsonNode.Parse(Proto.Format(message))!;

    /// <summary>Takes one event in; the chunk to stream for it (null: nothing to send).</summary>
    public JsonObject? Add(SolveResponse e)
    {
        switch (e.EventCase)
        {
            case SolveResponse.EventOneofCase.Plan:
                plan = e.Plan;
                return Chunk(new JsonArray(), new JsonObject { ["plan"] = ToJson(e.Plan) });
            case SolveResponse.EventOneofCase.Delta:
                return Chunk([Choice(e.Delta.Index, Delta(e.Delta.Index, e.Delta.Text), null)]);
            case SolveResponse.EventOneofCase.Candidate:
                results[e.Candidate.Index] = e.Candidate;
                return Chunk([Choice(e.Candidate.Index, Delta(e.Candidate.Index, null), FinishReason(e.Candidate))],
                    new JsonObject { ["candidate"] = ToJson(e.Candidate) });
            case SolveResponse.EventOneofCase.Check:
                checks[e.Check.Index] = e.Check;
                return Chunk([], new JsonObject { ["check"] = ToJson(e.Check) });
            case SolveResponse.EventOneofCase.Restart:
                // The text streamed so far for this candidate is void: it is decoded again from the start.
                return Chunk([], new JsonObject { ["restart"] = ToJson(e.Restart) });
            case SolveResponse.EventOneofCase.Verdict:
                verdict = e.Verdict;
                return Chunk([], new JsonObject { ["verdict"] = ToJson(e.Verdict) });
            default:
                return null;
        }
    }

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
        _ => null,
    };

    JsonObject Usage()
    {
        long prompt = results.Values.Sum(r => (long)r.PromptTokens), completion = results.Values.Sum(r => (long)r.Tokens);
        return new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
    }

    /// <summary>The non-streamed response, once the Solve has ended: one choice per candidate that ran, by index.</summary>
    public JsonObject Completion()
    {
        var choices = new JsonArray();
        foreach (var (index, r) in results)
            choices.Add(new JsonObject
            {
                ["index"] = index,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = r.Text, ["refusal"] = null },
                ["logprobs"] = null,
                ["finish_reason"] = FinishReason(r),
            });
        var candidates = new JsonArray();
        foreach (var r in results.Values) candidates.Add(ToJson(r));
        var checked_ = new JsonArray();
        foreach (var c in checks.Values) checked_.Add(ToJson(c));
        return new JsonObject
        {
            ["id"] = id, ["object"] = "chat.completion", ["created"] = created, ["model"] = model, ["choices"] = choices,
            ["usage"] = Usage(),
            ["sprint"] = new JsonObject
            {
                ["plan"] = plan is null ? null : ToJson(plan),
                ["candidates"] = candidates,
                ["checks"] = checked_,
                ["verdict"] = verdict is null ? null : ToJson(verdict),
            },
        };
    }
}
