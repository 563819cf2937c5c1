using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>
/// The gateway's OpenAI-compatible routes called by clients nobody here wrote: the official OpenAI .NET SDK (NuGet
/// OpenAI) and the official `openai` npm package. The texts of every choice equal the gRPC Solve's for the same seed.
/// </summary>
[Collection(SuiteCollection.Name)]
public sealed class OpenAiTests(SuiteFixture suite)
{
    const string Model = "sprint-tiny-math";
    const int MaxTokens = 48;

    /// <summary>
    /// A seed whose 8 candidates (max_tokens 48, STRATEGY_SPRINT) do not all give one answer, so that the verdict's
    /// chosen candidate differs from candidate 0 and the ranked choices are not interchangeable (asserted below).
    /// </summary>
    const ulong Disagreeing = 1;

    /// <summary>
    /// The gRPC Solve of the same request: the candidates by index and the verdict. Without rejection unless
    /// <paramref name="serverDefault"/> (the OpenAI mapping is compared on candidates that all run to their end, whose
    /// token counts are exact; a stopped candidate's count includes the tokens decoded while its stop travelled).
    /// </summary>
    async Task<(List<CandidateResult> Results, Verdict Verdict)> GrpcSolve(int n, ulong seed, int maxTokens = MaxTokens,
        Aggregation aggregation = Aggregation.VerifiedMajority, bool serverDefault = false)
    {
        var request = new SolveRequest { Question = Rpc.Question, N = n, Seed = seed, MaxNewTokens = maxTokens, Aggregation = aggregation };
        if (!serverDefault) request.Rejection = Rpc.NoRejection;
        var events = await Rpc.Solve(suite.Gateway, request);
        var (_, results, verdict) = Rpc.AssertWellFormed(events);
        return ([.. results.OrderBy(r => r.Index)], verdict);
    }

    ChatClient DotnetClient(string key = "none") => new(Model, new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(suite.WebAddress + "/v1"),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),   // a 429 must reach the test
        NetworkTimeout = TimeSpan.FromMinutes(2),
    });

    static BinaryContent Body(int? n, ulong seed, bool stream, int? bestOf = null, bool candidatesAsChoices = false, int maxTokens = MaxTokens,
        string? aggregation = null) =>
        BinaryContent.Create(BinaryData.FromString(new JsonObject
        {
            ["model"] = Model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Rpc.Question }),
            ["n"] = n, ["best_of"] = bestOf, ["candidates_as_choices"] = candidatesAsChoices ? true : null,
            ["seed"] = seed, ["max_tokens"] = maxTokens, ["stream"] = stream, ["aggregation"] = aggregation,
            ["stream_options"] = stream ? new JsonObject { ["include_usage"] = true } : null,
            ["rejection"] = "none",   // as GrpcSolve
        }.ToJsonString()));

    /// <summary>usage counts every candidate that ran, not only the returned choices.</summary>
    static void AssertUsage(JsonNode usage, IReadOnlyList<CandidateResult> grpc)
    {
        Assert.Equal(grpc.Sum(r => r.Tokens), usage["completion_tokens"]!.GetValue<int>());
        Assert.Equal(grpc.Sum(r => r.PromptTokens), usage["prompt_tokens"]!.GetValue<int>());
        Assert.True(grpc.All(r => r.PromptTokens > 0));
        Assert.Equal(usage["prompt_tokens"]!.GetValue<int>() + usage["completion_tokens"]!.GetValue<int>(), usage["total_tokens"]!.GetValue<int>());
    }

    static string Finish(CandidateResult r) => r.FinishReason == FinishReason.Length ? "length" : "stop";

    /// <summary>The verdict's chosen candidate; the seed is one where the candidates disagree and 0 is not the choice.</summary>
    static CandidateResult Chosen(List<CandidateResult> grpc, Verdict verdict)
    {
        Assert.True(grpc.Select(r => r.Answer).Distinct().Count() > 1, "the candidates agree: pick a seed where they do not");
        Assert.NotEqual(0, verdict.ChosenCandidate);
        return grpc[verdict.ChosenCandidate];
    }

    [Fact(Timeout = 300_000)]
    public async Task The_dotnet_sdk_with_default_parameters_gets_one_choice_the_verdicts_chosen_candidate()
    {
        var (grpc, verdict) = await GrpcSolve(8, Disagreeing, serverDefault: true);   // the typed layer sends no rejection: the server's default
        var chosen = Chosen(grpc, verdict);
        var client = DotnetClient();
        // The typed layer, as an application calls it: no n, no best_of.
#pragma warning disable OPENAI001   // Seed is marked experimental in the SDK
        var typed = await client.CompleteChatAsync([new UserChatMessage(Rpc.Question)], new ChatCompletionOptions { Seed = (long)Disagreeing, MaxOutputTokenCount = MaxTokens });
#pragma warning restore OPENAI001
        Assert.Equal(chosen.Text, typed.Value.Content[0].Text);
        Assert.Equal(Finish(chosen), typed.Value.FinishReason == ChatFinishReason.Length ? "length" : "stop");
        // Every candidate that ran is counted; a stopped one with the tokens it decoded while its stop travelled, which
        // differ from run to run: at least up to its stop, at most max_tokens.
        var finishedTokens = grpc.Where(r => r.FinishReason != FinishReason.Rejected).Sum(r => r.Tokens);
        var stoppedCount = grpc.Count(r => r.FinishReason == FinishReason.Rejected);
        Assert.InRange(typed.Value.Usage.OutputTokenCount, finishedTokens + stoppedCount, finishedTokens + stoppedCount * MaxTokens);
        Assert.Equal(Model, typed.Value.Model);
        var raw = JsonNode.Parse(typed.GetRawResponse().Content.ToString())!;
        Assert.Single(raw["choices"]!.AsArray());
        Assert.Equal(0, raw["choices"]![0]!["index"]!.GetValue<int>());
        Assert.Equal([verdict.ChosenCandidate], raw["sprint"]!["choice_candidates"]!.AsArray().Select(c => c!.GetValue<int>()));
        Assert.Equal(grpc.Count, raw["sprint"]!["candidates"]!.AsArray().Count);   // the extension keeps every candidate (replacements too)
        Assert.Equal(verdict.Answer, raw["sprint"]!["verdict"]!["answer"]!.GetValue<string>());

        // The SDK's streaming: the text accumulated from choice 0 is the chosen candidate's.
#pragma warning disable OPENAI001
        var streamed = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(Rpc.Question)], new ChatCompletionOptions { Seed = (long)Disagreeing, MaxOutputTokenCount = MaxTokens }))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            finish ??= update.FinishReason;
        }
#pragma warning restore OPENAI001
        Assert.Equal(chosen.Text, streamed.ToString());
        Assert.NotNull(finish);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_weighted_vote_is_asked_for_by_name_and_answers_as_the_grpc_solve_does()
    {
        var (grpc, verdict) = await GrpcSolve(8, Disagreeing, aggregation: Aggregation.VerifierWeighted);
        Assert.Equal(Aggregation.VerifierWeighted, verdict.Aggregation);
        var result = await DotnetClient().CompleteChatAsync(Body(null, Disagreeing, stream: false, bestOf: 8, aggregation: "weighted"));
        var completion = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        Assert.Equal(grpc[verdict.ChosenCandidate].Text, completion["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal(verdict.ChosenCandidate, completion["sprint"]!["choice_candidates"]![0]!.GetValue<int>());
    }

    [Fact(Timeout = 300_000)]
    public async Task N_3_of_best_of_8_are_three_choices_best_first_and_candidates_as_choices_keeps_one_per_candidate()
    {
        // The plain majority, so that three answers have votes: 56, 52 and 48 for this seed.
        var (grpc, verdict) = await GrpcSolve(8, Disagreeing, aggregation: Aggregation.Majority);
        Assert.True(verdict.Votes.Count >= 3, $"{verdict.Votes.Count} answers: pick a seed with three");
        var result = await DotnetClient().CompleteChatAsync(Body(3, Disagreeing, stream: false, bestOf: 8, aggregation: "majority"));
        var completion = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        var choices = completion["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => c!["index"]!.GetValue<int>()));
        var picked = completion["sprint"]!["choice_candidates"]!.AsArray().Select(c => c!.GetValue<int>()).ToList();
        Assert.Equal(picked.Select(i => grpc[i].Text), choices.Select(c => c!["message"]!["content"]!.GetValue<string>()));
        Assert.Equal(picked.Select(i => Finish(grpc[i])), choices.Select(c => c!["finish_reason"]!.GetValue<string>()));
        // Best first: the chosen candidate, then the best (highest mean log-probability) of each next answer by votes.
        Assert.Equal(verdict.ChosenCandidate, picked[0]);
        Assert.Equal(verdict.Answer, grpc[picked[0]].Answer);
        for (int k = 1; k < 3; k++)
        {
            var best = verdict.Votes[k].Candidates.Select(i => grpc[i]).OrderByDescending(r => r.MeanLogProb).ThenBy(r => r.Index).First();
            Assert.Equal((k, best.Index), (k, picked[k]));
        }
        AssertUsage(completion["usage"]!, grpc);

        // candidates_as_choices: today's page-like shape, choices[i] = candidate i.
        var perCandidate = JsonNode.Parse((await DotnetClient().CompleteChatAsync(Body(null, Disagreeing, stream: false, bestOf: 8, candidatesAsChoices: true))).GetRawResponse().Content.ToString())!;
        Assert.Equal(Enumerable.Range(0, 8), perCandidate["choices"]!.AsArray().Select(c => c!["index"]!.GetValue<int>()));
        Assert.Equal(grpc.Select(r => r.Text), perCandidate["choices"]!.AsArray().Select(c => c!["message"]!["content"]!.GetValue<string>()));
        AssertUsage(perCandidate["usage"]!, grpc);
    }

    [Fact(Timeout = 300_000)]
    public async Task Finish_reasons_say_length_when_max_tokens_cut_the_candidates()
    {
        var (grpc, _) = await GrpcSolve(4, 5, maxTokens: 4);
        Assert.All(grpc, r => Assert.Equal(FinishReason.Length, r.FinishReason));
        var completion = JsonNode.Parse((await DotnetClient().CompleteChatAsync(Body(4, 5, stream: false, bestOf: 4, maxTokens: 4))).GetRawResponse().Content.ToString())!;
        Assert.All(completion["choices"]!.AsArray(), c => Assert.Equal("length", c!["finish_reason"]!.GetValue<string>()));
        Assert.Equal(4, completion["usage"]!["completion_tokens"]!.GetValue<int>() / 4);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_dotnet_sdk_streams_progress_in_the_extension_and_the_answer_last_ending_in_done()
    {
        var (grpc, verdict) = await GrpcSolve(8, Disagreeing);
        var chosen = Chosen(grpc, verdict);
        var result = await DotnetClient().CompleteChatAsync(Body(2, Disagreeing, stream: true, bestOf: 8), new RequestOptions { BufferResponse = false });
        using var raw = result.GetRawResponse();
        Assert.StartsWith("text/event-stream", raw.Headers.TryGetValue("Content-Type", out var type) ? type : "");
        var data = new List<string>();
        await foreach (var item in SseParser.Create(raw.ContentStream!).EnumerateAsync()) data.Add(item.Data);
        Assert.Equal("[DONE]", data[^1]);
        var chunks = data.SkipLast(1).Select(d => JsonNode.Parse(d)!).ToList();
        Assert.All(chunks, c => Assert.Equal(("chat.completion.chunk", Model), (c["object"]!.GetValue<string>(), c["model"]!.GetValue<string>())));
        int verdictAt = chunks.FindIndex(c => c["sprint"]?["verdict"] is not null);
        Assert.True(verdictAt > 0);
        // Before the verdict: progress only (the candidates' deltas in the extension), no choice.
        Assert.All(chunks.Take(verdictAt), c => Assert.Empty(c["choices"]!.AsArray()));
        var progress = chunks.Where(c => c["sprint"]?["delta"] is not null).GroupBy(c => c["sprint"]!["delta"]!["index"]!.GetValue<int>())
            .ToDictionary(g => g.Key, g => string.Concat(g.Select(c => c["sprint"]!["delta"]!["text"]!.GetValue<string>())));
        Assert.Equal(grpc.Select(r => r.Text), Enumerable.Range(0, 8).Select(i => progress.GetValueOrDefault(i, "")));
        // After it: n = 2 choices, the chosen candidate's text as choice 0.
        var texts = new Dictionary<int, string>();
        var finished = new Dictionary<int, string>();
        foreach (var choice in chunks.Skip(verdictAt).SelectMany(c => c["choices"]!.AsArray()))
        {
            int index = choice!["index"]!.GetValue<int>();
            texts[index] = texts.GetValueOrDefault(index, "") + (choice["delta"]!["content"]?.GetValue<string>() ?? "");
            if (choice["finish_reason"] is { } reason) finished[index] = reason.GetValue<string>();
        }
        Assert.Equal([0, 1], texts.Keys.Order());
        Assert.Equal(chosen.Text, texts[0]);
        Assert.Equal(Finish(chosen), finished[0]);
        Assert.Equal(2, finished.Count);
        AssertUsage(chunks[^1]["usage"]!, grpc);   // stream_options.include_usage: the last chunk before [DONE]
        Assert.All(chunks.SkipLast(1), c => Assert.Null(c["usage"]));
    }

    [Fact(Timeout = 300_000)]
    public async Task The_node_sdk_gets_the_answer_by_default_its_streaming_helper_too_and_candidates_on_request()
    {
        var (grpc, verdict) = await GrpcSolve(8, Disagreeing);
        var chosen = Chosen(grpc, verdict);
        var complete = JsonNode.Parse(await NodeOpenAi(8, Disagreeing, "complete"))!;
        Assert.Equal([chosen.Text], complete["choices"]!.AsArray().Select(c => c!["content"]!.GetValue<string>()));
        Assert.Equal((Model, 0), (complete["model"]!.GetValue<string>(), complete["choices"]![0]!["index"]!.GetValue<int>()));
        AssertUsage(complete["usage"]!, grpc);

        var best3 = JsonNode.Parse(await NodeOpenAi(8, Disagreeing, "best3"))!;
        Assert.Equal(3, best3["choices"]!.AsArray().Count);
        Assert.Equal(chosen.Text, best3["choices"]![0]!["content"]!.GetValue<string>());

        var stream = JsonNode.Parse(await NodeOpenAi(8, Disagreeing, "stream"))!;
        Assert.Equal(chosen.Text, stream["texts"]!["0"]!.GetValue<string>());
        Assert.Single(stream["texts"]!.AsObject());
        Assert.Equal(Finish(chosen), stream["finish"]!["0"]!.GetValue<string>());
        AssertUsage(stream["usage"]!, grpc);
        var sprint = stream["sprint"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
        Assert.Equal(("plan", "verdict"), (sprint[0], sprint[^1]));
        Assert.Contains("delta", sprint);

        var helper = JsonNode.Parse(await NodeOpenAi(8, Disagreeing, "helper"))!;
        Assert.Equal(chosen.Text, helper["content"]!.GetValue<string>());
        Assert.Equal(chosen.Text, helper["final"]![0]!["content"]!.GetValue<string>());

        var candidates = JsonNode.Parse(await NodeOpenAi(4, 31, "candidates"))!;
        var (grpc4, _) = await GrpcSolve(4, 31);
        Assert.Equal(grpc4.Select(r => r.Text), candidates["choices"]!.AsArray().Select(c => c!["content"]!.GetValue<string>()));
        Assert.Equal([0, 1, 2, 3], candidates["choices"]!.AsArray().Select(c => c!["index"]!.GetValue<int>()));
        var streamCandidates = JsonNode.Parse(await NodeOpenAi(4, 31, "stream-candidates"))!;
        Assert.Equal(grpc4.Select(r => r.Text), Enumerable.Range(0, 4).Select(i => streamCandidates["texts"]![i.ToString()]!.GetValue<string>()));
        Assert.Equal(grpc4.Select(Finish), Enumerable.Range(0, 4).Select(i => streamCandidates["finish"]![i.ToString()]!.GetValue<string>()));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_bad_n_and_an_unknown_model_get_openai_errors()
    {
        var client = DotnetClient();
        var badN = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Body(0, 1, stream: false)));
        Assert.Equal(400, badN.Status);
        var error = JsonNode.Parse(badN.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.Equal(("invalid_request_error", "n"), (error["type"]!.GetValue<string>(), error["param"]!.GetValue<string>()));
        var tooMany = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Body(65, 1, stream: false)));
        Assert.Equal("n", JsonNode.Parse(tooMany.GetRawResponse()!.Content.ToString())!["error"]!["param"]!.GetValue<string>());
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() =>
            new ChatClient("gpt-4o", new ApiKeyCredential("none"), new OpenAIClientOptions { Endpoint = new Uri(suite.WebAddress + "/v1"), RetryPolicy = new ClientRetryPolicy(0) })
                .CompleteChatAsync([new UserChatMessage(Rpc.Question)]));
        Assert.Equal(404, unknown.Status);
        Assert.Equal("model_not_found", JsonNode.Parse(unknown.GetRawResponse()!.Content.ToString())!["error"]!["code"]!.GetValue<string>());

        var node = JsonNode.Parse(await NodeOpenAi(4, 1, "errors"))!;
        Assert.Equal((400, "n"), (node["badN"]!["status"]!.GetValue<int>(), node["badN"]!["param"]!.GetValue<string>()));
        Assert.Equal((400, "n"), (node["nOverBestOf"]!["status"]!.GetValue<int>(), node["nOverBestOf"]!["param"]!.GetValue<string>()));
        var bestOf = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Body(null, 1, stream: false, bestOf: 65)));
        Assert.Equal("best_of", JsonNode.Parse(bestOf.GetRawResponse()!.Content.ToString())!["error"]!["param"]!.GetValue<string>());
        Assert.Equal((404, "model_not_found"), (node["unknownModel"]!["status"]!.GetValue<int>(), node["unknownModel"]!["code"]!.GetValue<string>()));
    }

    /// <summary>
    /// System and developer messages are the chat template's system turn, as a chat server applies them: the prompt the
    /// generator tokenizes is ChatPrompt.Format(question, system) — the same token count as that text sent raw — while
    /// without one it is the generators' own (none for the shipped model). The selector still embeds the question.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task A_system_prompt_is_the_chat_templates_system_turn_the_generator_sees()
    {
        const string SystemPrompt = "Please reason step by step, and put your final answer in a box.";
        async Task<int> PromptTokens(string messages)
        {
            using var http = new HttpClient { BaseAddress = new Uri(suite.WebAddress) };
            using var response = await http.PostAsync("/v1/chat/completions", new StringContent(
                $$"""{"model":"{{Model}}","messages":{{messages}},"best_of":2,"seed":3,"max_tokens":8}""", System.Text.Encoding.UTF8, "application/json"));
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
            var counts = body["sprint"]!["candidates"]!.AsArray().Select(c => c!["prompt_tokens"]!.GetValue<int>()).Distinct().ToList();
            return Assert.Single(counts);
        }
        async Task<int> RawTokens(string text)
        {
            var call = suite.Generator.Generate(new GenerateRequest { Prompt = text, Format = PromptFormat.Raw, Stopping = new StoppingParameters { MaxNewTokens = 1 } });
            var events = await Rpc.ReadAll(call);
            return events.Single(e => e.Result is not null).Result.PromptTokens;
        }
        string question = JsonValue.Create(Rpc.Question)!.ToJsonString(), system = JsonValue.Create(SystemPrompt)!.ToJsonString();
        int plain = await PromptTokens($$"""[{"role":"user","content":{{question}}}]""");
        int withSystem = await PromptTokens($$"""[{"role":"system","content":{{system}}},{"role":"user","content":{{question}}}]""");
        int withDeveloper = await PromptTokens($$"""[{"role":"developer","content":{{system}}},{"role":"user","content":{{question}}}]""");
        Assert.Equal(await RawTokens(Sprint.Inference.Text.ChatPrompt.Format(Rpc.Question, null)), plain);
        Assert.Equal(await RawTokens(Sprint.Inference.Text.ChatPrompt.Format(Rpc.Question, SystemPrompt)), withSystem);
        Assert.True(withSystem > plain, $"{withSystem} <= {plain}");
        Assert.Equal(withSystem, withDeveloper);
        // A raw prompt has no template to put it in: refused, naming the field.
        var raw = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => Rpc.ReadAll(suite.Generator.Generate(
            new GenerateRequest { Prompt = "x", Format = PromptFormat.Raw, SystemPrompt = SystemPrompt, Stopping = new StoppingParameters { MaxNewTokens = 1 } })));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, raw.StatusCode);
        Assert.StartsWith("system_prompt:", raw.Status.Detail);
    }

    /// <summary>Bodies the route refuses before the Solve: not JSON, over the size limit, malformed, asking for what is not supported.</summary>
    [Fact(Timeout = 60_000)]
    public async Task Malformed_oversized_and_unsupported_bodies_get_openai_errors_naming_the_param()
    {
        using var http = new HttpClient { BaseAddress = new Uri(suite.WebAddress) };
        // Expect: 100-continue — the body goes only once the server asks for it, so a refused one is never half-sent (no broken pipe).
        http.DefaultRequestHeaders.ExpectContinue = true;
        async Task<(int Status, JsonNode Error)> Post(HttpContent content)
        {
            using var response = await http.PostAsync("/v1/chat/completions", content);
            return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!);
        }
        Task<(int Status, JsonNode Error)> Json(string body) => Post(new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        string Ask(string extra) => $$"""{"model":"{{Model}}","messages":[{"role":"user","content":"What is 2 + 3?"}]{{extra}}}""";

        var (status, error) = await Post(new StringContent("model=x", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal((415, "invalid_request_error"), (status, error["type"]!.GetValue<string>()));
        (status, error) = await Json(Ask($",\"user\":\"{new string('x', 5 * 1024 * 1024)}\""));
        Assert.Equal((413, "request_too_large"), (status, error["code"]!.GetValue<string>()));
        foreach (var (extra, param) in new[]
        {
            (",\"n\":\"four\"", "n"), (",\"bogus\":1", "bogus"), (",\"stop\":[1]", "stop"), (",\"seed\":-1", "seed"),
            (",\"max_tokens\":2000", "max_tokens"), (",\"max_completion_tokens\":0", "max_completion_tokens"), (",\"temperature\":-1", "temperature"),
            (",\"frequency_penalty\":0.5", "frequency_penalty"), (",\"logprobs\":true", "logprobs"), (",\"strategy\":\"best\"", "strategy"),
            (",\"adaptive\":{\"initial\":-1}", "adaptive.initial"), (",\"stream_options\":{\"include_usage\":true}", "stream_options"),
        })
        {
            (status, error) = await Json(Ask(extra));
            Assert.Equal((extra, 400, param), (extra, status, error["param"]?.GetValue<string>()));
            Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        }
        (status, error) = await Json($$"""{"model":"{{Model}}","messages":[{"role":"user","content":"What is 2?"},{"role":"assistant","content":"2"},{"role":"user","content":"What is 2 + 3?"}]}""");
        Assert.Equal((400, "messages[1].role"), (status, error["param"]!.GetValue<string>()));   // earlier turns: one question a Solve
        (status, error) = await Json($$"""{"model":"{{Model}}","messages":[{"role":"system","content":"{{new string('x', 9000)}}"},{"role":"user","content":"What is 2 + 3?"}]}""");
        Assert.Equal((400, "messages"), (status, error["param"]!.GetValue<string>()));   // the system prompt's own rule (the question's 8 KiB), under messages
        Assert.StartsWith("messages (the system and developer messages, together): 9000 bytes", error["message"]!.GetValue<string>());
        (status, error) = await Json($$$"""{"model":"{{{Model}}}","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""");
        Assert.Equal((400, "messages[0].content[0]"), (status, error["param"]!.GetValue<string>()));
        (status, error) = await Json($$"""{"model":"{{Model}}","messages":[]}""");
        Assert.Equal((400, "messages"), (status, error["param"]!.GetValue<string>()));
    }

    /// <summary>
    /// A suite of its own whose candidates ignore end-of-sequence (Gateway:IgnoreEos), so each would decode all its 400
    /// tokens: only the hang-up can free the rows early. (The shared suite's tiny model stops after a few dozen tokens,
    /// which would free them anyway.)
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task A_node_client_that_aborts_a_stream_frees_its_generator_rows()
    {
        int webPort = SuiteFixture.FreePort();
        await using var app = Sprint.Suite.InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true,
            ["--Generator:Threads=1", "--Embedding:Threads=1", $"--Service:WebPort={webPort}", "--Gateway:IgnoreEos=true"]);
        await app.StartAsync();
        await Sprint.Suite.InProcessSuite.WaitReadyAsync(app, TimeSpan.FromMinutes(2), CancellationToken.None);
        var engine = app.Services.GetRequiredService<Sprint.Generator.GeneratorEngine>().Scheduler!;
        long before = engine.Stats.Steps;
        await Clients.NodeOpenAi($"http://127.0.0.1:{webPort}/v1", Model, 2, 41, "abort");   // max_tokens 400: aborted after the first content
        for (int i = 0; i < 100 && engine.Stats.ActiveSequences + engine.Stats.QueuedSequences > 0; i++) await Task.Delay(20);
        Assert.Equal(0, engine.Stats.ActiveSequences + engine.Stats.QueuedSequences);
        // Freed by the hang-up, not by running out their 400 tokens (one step a token).
        Assert.True(engine.Stats.Steps - before < 300, $"{engine.Stats.Steps - before} steps");
    }

    Task<string> NodeOpenAi(int n, ulong seed, string mode, IReadOnlyDictionary<string, string>? environment = null) =>
        Clients.NodeOpenAi(suite.WebAddress + "/v1", Model, n, seed, mode, environment);
}
