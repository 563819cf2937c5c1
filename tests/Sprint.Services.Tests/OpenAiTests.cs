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

    /// <summary>The gRPC Solve of the same request: candidate texts by index, tokens and prompt tokens.</summary>
    async Task<List<CandidateResult>> GrpcSolve(int n, ulong seed)
    {
        var events = await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = n, Seed = seed, MaxNewTokens = MaxTokens });
        return [.. Rpc.AssertWellFormed(events).Results.OrderBy(r => r.Index)];
    }

    ChatClient DotnetClient(string key = "none") => new(Model, new ApiKeyCredential(key), new OpenAIClientOptions
    {
        Endpoint = new Uri(suite.WebAddress + "/v1"),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),   // a 429 must reach the test
        NetworkTimeout = TimeSpan.FromMinutes(2),
    });

    static BinaryContent Body(int n, ulong seed, bool stream) => BinaryContent.Create(BinaryData.FromString(new JsonObject
    {
        ["model"] = Model,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Rpc.Question }),
        ["n"] = n, ["seed"] = seed, ["max_tokens"] = MaxTokens, ["stream"] = stream,
        ["stream_options"] = stream ? new JsonObject { ["include_usage"] = true } : null,
    }.ToJsonString()));

    static void AssertUsage(JsonNode usage, IReadOnlyList<CandidateResult> grpc)
    {
        Assert.Equal(grpc.Sum(r => r.Tokens), usage["completion_tokens"]!.GetValue<int>());
        Assert.Equal(grpc.Sum(r => r.PromptTokens), usage["prompt_tokens"]!.GetValue<int>());
        Assert.True(grpc.All(r => r.PromptTokens > 0));
        Assert.Equal(usage["prompt_tokens"]!.GetValue<int>() + usage["completion_tokens"]!.GetValue<int>(), usage["total_tokens"]!.GetValue<int>());
    }

    [Fact(Timeout = 300_000)]
    public async Task The_dotnet_sdk_gets_n_choices_with_the_grpc_texts_the_verdict_and_the_usage()
    {
        var grpc = await GrpcSolve(4, 11);
        var client = DotnetClient();
        // n is not in the SDK's typed options (openai-dotnet#143): its protocol method, the SDK's documented way for n > 1.
        var result = await client.CompleteChatAsync(Body(4, 11, stream: false));
        var completion = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        Assert.Equal("chat.completion", completion["object"]!.GetValue<string>());
        var choices = completion["choices"]!.AsArray();
        Assert.Equal([0, 1, 2, 3], choices.Select(c => c!["index"]!.GetValue<int>()));
        Assert.Equal(grpc.Select(r => r.Text), choices.Select(c => c!["message"]!["content"]!.GetValue<string>()));
        Assert.All(choices, c => Assert.Contains(c!["finish_reason"]!.GetValue<string>(), new[] { "stop", "length" }));
        AssertUsage(completion["usage"]!, grpc);
        var verdict = completion["sprint"]!["verdict"]!;
        Assert.Equal("AGGREGATION_VERIFIED_MAJORITY", verdict["aggregation"]!.GetValue<string>());
        Assert.Equal(4, completion["sprint"]!["plan"]!["candidates"]!.AsArray().Count);
        Assert.Equal(grpc.Count(r => r.Text.Length > 0), completion["sprint"]!["checks"]!.AsArray().Count);

        // The SDK's typed layer reads the same response (first choice): n omitted is the gateway's default of 8.
        var grpc8 = await GrpcSolve(8, 12);
#pragma warning disable OPENAI001   // Seed is marked experimental in the SDK
        ChatCompletion typed = await client.CompleteChatAsync([new UserChatMessage(Rpc.Question)], new ChatCompletionOptions { Seed = 12, MaxOutputTokenCount = MaxTokens });
#pragma warning restore OPENAI001
        Assert.Equal(grpc8[0].Text, typed.Content[0].Text);
        Assert.Equal(grpc8.Sum(r => r.Tokens), typed.Usage.OutputTokenCount);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_dotnet_sdk_streams_n_8_choices_as_server_sent_events_ending_in_done()
    {
        var grpc = await GrpcSolve(8, 21);
        var result = await DotnetClient().CompleteChatAsync(Body(8, 21, stream: true), new RequestOptions { BufferResponse = false });
        using var raw = result.GetRawResponse();
        Assert.StartsWith("text/event-stream", raw.Headers.TryGetValue("Content-Type", out var type) ? type : "");
        var data = new List<string>();
        await foreach (var item in SseParser.Create(raw.ContentStream!).EnumerateAsync()) data.Add(item.Data);
        Assert.Equal("[DONE]", data[^1]);
        var chunks = data.SkipLast(1).Select(d => JsonNode.Parse(d)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));
        var texts = new Dictionary<int, string>();
        var finished = new Dictionary<int, string>();
        foreach (var choice in chunks.SelectMany(c => c["choices"]!.AsArray()))
        {
            int index = choice!["index"]!.GetValue<int>();
            texts[index] = texts.GetValueOrDefault(index, "") + (choice["delta"]!["content"]?.GetValue<string>() ?? "");
            if (choice["finish_reason"] is { } reason) finished[index] = reason.GetValue<string>();
        }
        Assert.Equal(Enumerable.Range(0, 8), texts.Keys.Order());
        Assert.Equal(grpc.Select(r => r.Text), texts.OrderBy(t => t.Key).Select(t => t.Value));
        Assert.Equal(8, finished.Count);
        Assert.NotNull(chunks[0]["sprint"]!["plan"]);
        Assert.Single(chunks, c => c["sprint"]?["verdict"] is not null);
        AssertUsage(chunks[^1]["usage"]!, grpc);   // stream_options.include_usage: the last chunk before [DONE]
        Assert.All(chunks.SkipLast(1), c => Assert.Null(c["usage"]));
    }

    [Fact(Timeout = 300_000)]
    public async Task The_node_sdk_gets_n_4_choices_and_streams_n_8_with_the_grpc_texts()
    {
        var grpc4 = await GrpcSolve(4, 31);
        var complete = JsonNode.Parse(await NodeOpenAi(4, 31, "complete"))!;
        Assert.Equal(grpc4.Select(r => r.Text), complete["choices"]!.AsArray().Select(c => c!["content"]!.GetValue<string>()));
        Assert.Equal([0, 1, 2, 3], complete["choices"]!.AsArray().Select(c => c!["index"]!.GetValue<int>()));
        AssertUsage(complete["usage"]!, grpc4);
        Assert.NotNull(complete["sprint"]!["verdict"]!["answer"]);

        var grpc8 = await GrpcSolve(8, 32);
        var stream = JsonNode.Parse(await NodeOpenAi(8, 32, "stream"))!;
        Assert.Equal(grpc8.Select(r => r.Text), Enumerable.Range(0, 8).Select(i => stream["texts"]![i.ToString()]!.GetValue<string>()));
        Assert.Equal(8, stream["finish"]!.AsObject().Count);
        AssertUsage(stream["usage"]!, grpc8);
        var sprint = stream["sprint"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
        Assert.Equal("plan", sprint[0]);
        Assert.Equal("verdict", sprint[^1]);
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
        Assert.Equal((404, "model_not_found"), (node["unknownModel"]!["status"]!.GetValue<int>(), node["unknownModel"]!["code"]!.GetValue<string>()));
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
        (status, error) = await Json($$"""{"model":"{{Model}}","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2 + 3?"}]}""");
        Assert.Equal((400, "messages[0].role"), (status, error["param"]!.GetValue<string>()));
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
