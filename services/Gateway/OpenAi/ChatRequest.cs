using System.Text.Json;
using System.Text.Json.Serialization;
using Sprint.Contracts.V1;

namespace Sprint.Gateway.OpenAi;

/// <summary>
/// The body of <c>POST /v1/chat/completions</c> as OpenAI's API reference defines it (the fields this server honours,
/// and those it accepts only at their defaults), plus SPRINT's own choices as extra body fields (the SDKs'
/// <c>extra_body</c>, as vLLM takes its extra sampling parameters): <see cref="Strategy"/>, <see cref="Aggregation"/>,
/// <see cref="Adaptive"/>, <see cref="TopK"/>, <see cref="RequireSelectedHeads"/>, <see cref="Rejection"/>. Any other field is refused, naming it.
/// </summary>
public sealed class ChatRequest
{
    /// <summary>The served model's id (GET /v1/models).</summary>
    public string? Model { get; init; }
    /// <summary>The question is the last user message; system and developer messages are the system prompt; assistant and tool messages are refused.</summary>
    public List<ChatMessage>? Messages { get; init; }
    /// <summary>
    /// Choices returned, best first (OpenAI's default, 1): <c>choices[0]</c> is the verdict's chosen candidate. At most
    /// <see cref="BestOf"/>.
    /// </summary>
    public int? N { get; init; }
    /// <summary>
    /// Candidates the Solve runs (OpenAI's Completions <c>best_of</c>, as vLLM and TGI took it); omitted: the gateway's
    /// Gateway:DefaultN (8).
    /// </summary>
    public int? BestOf { get; init; }
    /// <summary>
    /// SPRINT: one choice per candidate, <c>choices[i]</c> = candidate i, streamed as they decode (the Solve page's
    /// view); <see cref="N"/> is then not used. Default false: the best-of-N answer.
    /// </summary>
    public bool? CandidatesAsChoices { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    /// <summary>New tokens per candidate (deprecated by OpenAI in favour of <see cref="MaxCompletionTokens"/>; either is taken).</summary>
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    /// <summary>Fixes the plan and every sample (0 or more).</summary>
    public long? Seed { get; init; }
    /// <summary>A string or up to 16 strings.</summary>
    public JsonElement? Stop { get; init; }
    public bool? Stream { get; init; }
    public StreamOptions? StreamOptions { get; init; }

    // Accepted when they ask for nothing this server does not do (SDKs and frameworks send some of them at their defaults).
    public double? FrequencyPenalty { get; init; }
    public double? PresencePenalty { get; init; }
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    public JsonElement? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public JsonElement? ResponseFormat { get; init; }
    public JsonElement? LogitBias { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public string? User { get; init; }
    public bool? Store { get; init; }
    public JsonElement? Metadata { get; init; }
    public string? ServiceTier { get; init; }

    /// <summary>SPRINT: sprint (default), sampling, random_heads, global_top or greedy.</summary>
    public string? Strategy { get; init; }
    /// <summary>SPRINT: verified (default) or majority.</summary>
    public string? Aggregation { get; init; }
    /// <summary>SPRINT: true for the default waves (2:6:1), or {"initial", "wave", "agree"}.</summary>
    public JsonElement? Adaptive { get; init; }
    /// <summary>Top-k filtering of sampled candidates (vLLM's name for it).</summary>
    public int? TopK { get; init; }
    /// <summary>SPRINT: true fails the request (503) when the heads cannot be chosen, instead of sampling (SolveRequest.require_selected_heads).</summary>
    public bool? RequireSelectedHeads { get; init; }
    /// <summary>
    /// SPRINT: verify while decoding (SolveRequest.rejection) — "none", "stop" or "replace" (the default), with the
    /// suffixes of <c>sprint solve --rejection</c> ("replace!", "replace~", "replacex3"). A stopped candidate is never a choice.
    /// </summary>
    public string? Rejection { get; init; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        PropertyNameCaseInsensitive = false,
    };

    /// <summary>Reads a body, or says which param is wrong (the path System.Text.Json reports, e.g. <c>messages[0].content</c>).</summary>
    public static async Task<ChatRequest> ReadAsync(Stream body, CancellationToken ct)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<ChatRequest>(body, Json, ct).ConfigureAwait(false)
                ?? throw new OpenAiException(OpenAiError.Invalid("", "the body must be a JSON object"));
        }
        catch (JsonException e)
        {
            string param = (e.Path ?? "$").TrimStart('$').TrimStart('.');
            if (e.Message.Contains("could not be mapped", StringComparison.Ordinal) && Quoted(e.Message) is { } unknown)
                throw new OpenAiException(OpenAiError.Invalid(unknown, $"Unrecognized request argument supplied: {unknown}"));
            throw new OpenAiException(OpenAiError.Invalid(param, param.Length == 0
                ? "the body is not a valid JSON object"
                : $"Invalid type or value for '{param}' (see the OpenAI API reference and this server's extra fields)"));
        }
    }

    static string? Quoted(string message)
    {
        int start = message.IndexOf('\'');
        int end = start < 0 ? -1 : message.IndexOf('\'', start + 1);
        return end > start ? message[(start + 1)..end] : null;
    }

    /// <summary>Choices the response holds at most: <see cref="N"/>, or 1 (with <see cref="CandidatesAsChoices"/>: every candidate).</summary>
    public int Choices => N ?? 1;

    /// <summary>
    /// The Solve this asks for; <see cref="OpenAiException"/> names the first param that cannot be honoured.
    /// <paramref name="defaultCandidates"/> is the gateway's N, the candidates when <see cref="BestOf"/> is omitted.
    /// </summary>
    public SolveRequest ToSolveRequest(int defaultCandidates)
    {
        if (string.IsNullOrEmpty(Model)) throw new OpenAiException(OpenAiError.Invalid("model", "you must provide a model parameter (GET /v1/models lists it)"));
        var request = new SolveRequest { Question = Question(out var system) };
        if (system is not null) request.SystemPrompt = system;
        if (BestOf is { } bestOf)
        {
            if (bestOf < 1) throw new OpenAiException(OpenAiError.Invalid("best_of", $"best_of must be at least 1, got {bestOf}"));
            request.N = bestOf;
        }
        if (N is { } n)
        {
            if (n < 1) throw new OpenAiException(OpenAiError.Invalid("n", $"n must be at least 1, got {n}"));
            if (CandidatesAsChoices == true)
                throw new OpenAiException(OpenAiError.Invalid("n", "n is not used with candidates_as_choices (every candidate is a choice): best_of sets the candidates"));
            int candidates = BestOf ?? defaultCandidates;
            if (n > candidates)
                throw new OpenAiException(OpenAiError.Invalid("n", $"n ({n}) must not be more than best_of ({candidates}{(BestOf is null ? ", the default" : "")}): n choices are chosen from best_of candidates"));
        }
        if (Temperature is { } t) request.Temperature = (float)t;
        if (TopP is { } p) request.TopP = (float)p;
        if (TopK is { } k) request.TopK = k;
        if (RequireSelectedHeads is { } require) request.RequireSelectedHeads = require;
        if (Rejection is { } rejection)
        {
            Answers.RejectionPolicy policy;
            try { policy = Answers.RejectionPolicy.Parse(rejection); }
            catch (ArgumentException e) { throw new OpenAiException(OpenAiError.Invalid("rejection", e.Message)); }
            request.Rejection = policy.ToProto(policy.Mode == Answers.Rejection.Replace && policy.CapFactor != Answers.RejectionDefaults.CapFactor
                ? policy.Cap(request.N == 0 ? Core.Defaults.N : request.N) : 0);
        }
        if (MaxTokens is { } max && MaxCompletionTokens is { } completion && max != completion)
            throw new OpenAiException(OpenAiError.Invalid("max_completion_tokens", $"max_tokens ({max}) and max_completion_tokens ({completion}) disagree; send one"));
        if ((MaxCompletionTokens ?? MaxTokens) is { } tokens)
        {
            if (tokens < 1) throw new OpenAiException(OpenAiError.Invalid(MaxTokensParam, $"{MaxTokensParam} must be at least 1, got {tokens}"));
            request.MaxNewTokens = tokens;
        }
        if (Seed is { } seed)
        {
            if (seed < 0) throw new OpenAiException(OpenAiError.Invalid("seed", $"seed must be 0 or more, got {seed}"));
            request.Seed = (ulong)seed;
        }
        request.Stop.AddRange(StopStrings());
        if (StreamOptions is not null && Stream != true) throw new OpenAiException(OpenAiError.Invalid("stream_options", "stream_options is only allowed with stream: true"));
        if (Strategy is { } strategy) request.Strategy = strategy.ToLowerInvariant() switch
        {
            "sprint" => Contracts.V1.Strategy.Sprint,
            "sampling" => Contracts.V1.Strategy.Sampling,
            "random_heads" => Contracts.V1.Strategy.RandomHeads,
            "global_top" => Contracts.V1.Strategy.GlobalTop,
            "greedy" => Contracts.V1.Strategy.Greedy,
            _ => throw new OpenAiException(OpenAiError.Invalid("strategy", $"unknown strategy {Core.Quote.Short(strategy)}; expected sprint, sampling, random_heads, global_top or greedy")),
        };
        if (Aggregation is { } aggregation)
        {
            try { request.Aggregation = Answers.Vote.Parse(aggregation).ToProto(); }
            catch (ArgumentException) { throw new OpenAiException(OpenAiError.Invalid("aggregation", $"unknown aggregation {Core.Quote.Short(aggregation)}; expected verified, majority or weighted")); }
        }
        if (AdaptiveParameters() is { } adaptive) request.Adaptive = adaptive;
        RefuseUnsupported();
        return request;
    }

    /// <summary>The param a max_new_tokens problem is reported under: the one the caller sent.</summary>
    public string MaxTokensParam => MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens";

    /// <summary>
    /// The question (the last user message, what the selector embeds) and the system prompt: the system and developer
    /// messages' texts in order, joined by a blank line (null when there are none: the generators' own). Earlier
    /// turns of a conversation (assistant, tool) are refused: a Solve answers one question.
    /// </summary>
    string Question(out string? system)
    {
        if (Messages is not { Count: > 0 }) throw new OpenAiException(OpenAiError.Invalid("messages", "messages must hold at least one user message (the question)"));
        string? question = null;
        List<string> systems = [];
        for (int i = 0; i < Messages.Count; i++)
        {
            var m = Messages[i];
            switch (m.Role)
            {
                case "user": question = m.Text($"messages[{i}]"); break;
                case "system" or "developer": systems.Add(m.Text($"messages[{i}]")); break;
                case "assistant" or "tool" or "function":
                    throw new OpenAiException(OpenAiError.Invalid($"messages[{i}].role", $"{m.Role} messages are not supported: a Solve answers one question; send it as one user message (with a system message if you like)"));
                default:
                    throw new OpenAiException(OpenAiError.Invalid($"messages[{i}].role", $"unknown role {Core.Quote.Short(m.Role ?? "")}; expected system, developer or user"));
            }
        }
        system = systems.Count == 0 ? null : string.Join("\n\n", systems);
        return question ?? throw new OpenAiException(OpenAiError.Invalid("messages", "messages must hold a user message (the question)"));
    }

    IEnumerable<string> StopStrings()
    {
        if (Stop is not { } stop || stop.ValueKind == JsonValueKind.Null) return [];
        if (stop.ValueKind == JsonValueKind.String) return [stop.GetString()!];
        if (stop.ValueKind == JsonValueKind.Array && stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String))
            return stop.EnumerateArray().Select(s => s.GetString()!).ToList();
        throw new OpenAiException(OpenAiError.Invalid("stop", "stop must be a string or an array of strings"));
    }

    AdaptiveParameters? AdaptiveParameters()
    {
        if (Adaptive is not { } a || a.ValueKind is JsonValueKind.Null or JsonValueKind.False) return null;
        if (a.ValueKind == JsonValueKind.True) return new AdaptiveParameters();   // every field 0: the defaults
        if (a.ValueKind != JsonValueKind.Object) throw new OpenAiException(OpenAiError.Invalid("adaptive", "adaptive must be true or {\"initial\", \"wave\", \"agree\", \"margin\"}"));
        try { return JsonSerializer.Deserialize<AdaptiveBody>(a, Json)!.ToProto(); }
        catch (JsonException e) { throw new OpenAiException(OpenAiError.Invalid("adaptive" + (e.Path ?? "$").TrimStart('$'), "adaptive must be {\"initial\", \"wave\", \"agree\"} with whole numbers and an optional number \"margin\"")); }
    }

    sealed record AdaptiveBody(int Initial = 0, int Wave = 0, int Agree = 0, float Margin = 0)
    {
        public AdaptiveParameters ToProto() => new() { Initial = Initial, Wave = Wave, Agree = Agree, Margin = Margin };
    }

    void RefuseUnsupported()
    {
        void Refuse(bool asked, string param, string what)
        {
            if (asked) throw new OpenAiException(OpenAiError.Invalid(param, $"{param} is not supported by this server: {what}"));
        }
        Refuse(FrequencyPenalty is { } f && f != 0, "frequency_penalty", "candidates sample without penalties (0 only)");
        Refuse(PresencePenalty is { } pp && pp != 0, "presence_penalty", "candidates sample without penalties (0 only)");
        Refuse(Logprobs == true || TopLogprobs is > 0, Logprobs == true ? "logprobs" : "top_logprobs", "each candidate's mean log-probability is in the sprint extension");
        Refuse(Present(Tools) || Present(ToolChoice) && ToolChoice!.Value.ValueKind != JsonValueKind.String, Present(Tools) ? "tools" : "tool_choice", "no tools: the candidates write solutions");
        Refuse(Present(LogitBias) && LogitBias!.Value.EnumerateObject().Any(), "logit_bias", "no logit bias");
        Refuse(Present(ResponseFormat) && !(ResponseFormat!.Value.TryGetProperty("type", out var type) && type.ValueEquals("text")), "response_format", "text only");
    }

    static bool Present(JsonElement? e) => e is { ValueKind: not JsonValueKind.Null };
}

/// <summary>One message of <see cref="ChatRequest.Messages"/>: content is a string or an array of text parts.</summary>
public sealed class ChatMessage
{
    public string? Role { get; init; }
    public JsonElement? Content { get; init; }
    public string? Name { get; init; }

    public string Text(string param)
    {
        if (Content is not { } c) throw new OpenAiException(OpenAiError.Invalid(param + ".content", "content is required"));
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw new OpenAiException(OpenAiError.Invalid(param + ".content", "content must be a string or an array of text parts"));
        var text = new System.Text.StringBuilder();
        int j = 0;
        foreach (var part in c.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || !type.ValueEquals("text")
                || !part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                throw new OpenAiException(OpenAiError.Invalid($"{param}.content[{j}]", "only text parts ({\"type\": \"text\", \"text\": ...}) are supported"));
            text.Append(t.GetString());
            j++;
        }
        return text.ToString();
    }
}

public sealed class StreamOptions
{
    /// <summary>A last chunk with the usage of the whole request (every other chunk then carries "usage": null).</summary>
    public bool? IncludeUsage { get; init; }
}

/// <summary>A request this server refuses, with the OpenAI error to answer.</summary>
public sealed class OpenAiException(OpenAiError error) : Exception(error.Message)
{
    public OpenAiError Error { get; } = error;
}
