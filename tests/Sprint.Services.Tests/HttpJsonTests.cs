using Sprint.ServiceDefaults;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Google.Api;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

/// <summary>
/// The RPCs as HTTP/JSON (gRPC JSON transcoding on the suite's HTTP/1.1 port): a Solve streamed to curl, one JSON
/// object per line, equal to the same Solve over gRPC; bad JSON and bad fields answered 400 naming the field; the
/// OpenAPI document listing exactly the routes the protos declare; the metrics port serving nothing else.
/// </summary>
[Collection(SuiteCollection.Name)]
public sealed class HttpJsonTests(SuiteFixture suite)
{
    static readonly FileDescriptor[] Protos =
        [GatewayReflection.Descriptor, GeneratorReflection.Descriptor, EmbeddingReflection.Descriptor, SelectorReflection.Descriptor, VerifierReflection.Descriptor];

    /// <summary>Every RPC's google.api.http rule: (verb, path, "sprint.v1.Service.Method").</summary>
    static List<(string Verb, string Path, string Method)> Routes() =>
    [
        // Bidirectional streams (SteerGroup, Watch) have no HTTP/JSON form: HTTP/1.1 JSON transcoding cannot stream requests.
        .. Protos.SelectMany(f => f.Services).SelectMany(s => s.Methods).Where(m => !m.IsClientStreaming).Select(m =>
        {
            var rule = m.GetOptions()?.GetExtension(AnnotationsExtensions.Http) ?? throw new Xunit.Sdk.XunitException($"{m.FullName} has no google.api.http rule");
            return rule.PatternCase switch
            {
                HttpRule.PatternOneofCase.Post => ("post", rule.Post, m.FullName),
                HttpRule.PatternOneofCase.Get => ("get", rule.Get, m.FullName),
                var other => throw new Xunit.Sdk.XunitException($"{m.FullName}: unexpected verb {other}"),
            };
        }),
    ];

    [Fact(Timeout = 300_000)]
    public async Task Solve_posted_as_JSON_streams_to_curl_the_events_the_same_solve_gets_over_grpc()
    {
        var request = new SolveRequest { Question = Rpc.Question, N = 3, MaxNewTokens = 24, Seed = 7 };
        string stdout = await Tool.Run("curl", ["-sS", "-N", "--fail-with-body", "--json", JsonFormatter.Default.Format(request), suite.WebAddress + "/v1/solve"], Paths.Root);

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var events = lines.Select(l => JsonParser.Default.Parse<SolveResponse>(l)).ToList();   // each line one SolveResponse
        var (plan, results, verdict) = Rpc.AssertWellFormed(events);
        foreach (var r in results)
            Assert.Equal(r.Text, string.Concat(events.Where(e => e.Delta?.Index == r.Index).Select(e => e.Delta.Text)));

        var (grpcPlan, grpcResults, grpcVerdict) = Rpc.AssertWellFormed(await Rpc.Solve(suite.Gateway, request));
        Assert.Equal(grpcPlan.Candidates.Select(c => c.Configuration.Name), plan.Candidates.Select(c => c.Configuration.Name));
        Assert.Equal(grpcResults.OrderBy(r => r.Index).Select(r => r.Text), results.OrderBy(r => r.Index).Select(r => r.Text));
        Assert.Equal(grpcVerdict.Answer, verdict.Answer);
    }

    [Theory(Timeout = 300_000)]
    [InlineData("/v1/solve", """{"question":""}""", "question: must not be empty")]
    [InlineData("/v1/solve", """{"question":"q","n":1.5}""", "n: ")]
    [InlineData("/v1/solve", """{"question":"q","n":"many"}""", "n: ")]
    [InlineData("/v1/solve", """{"question":"q","n":-1}""", "n: must be in")]
    [InlineData("/v1/solve", """{"question":"q","strategy":"STRATEGY_BEST"}""", "strategy: ")]
    [InlineData("/v1/solve", """{"question":"q","max_tokens":5}""", "max_tokens: not a field of SolveRequest")]
    [InlineData("/v1/solve", """{"question":"q",""", "request: the body is not valid JSON (line 1, byte 16)")]
    [InlineData("/v1/solve", "[1]", "request: the body must be a JSON object")]
    [InlineData("/v1/solve", "", "request: the body is not valid JSON")]
    [InlineData("/v1/generate", """{"prompt":"p","stopping":{"maxNewTokens":"lots"}}""", "stopping.max_new_tokens: ")]
    [InlineData("/v1/generate", """{"prompt":"p","prunedHeads":[{"layer":0,"head":1},{"layer":1,"hed":2}]}""", "pruned_heads[1].hed: not a field of PrunedHead")]
    [InlineData("/v1/generate", """{"prompt":"p","prunedHeads":[{"layer":9,"head":1}]}""", "pruned_heads[0].layer: 9 is outside")]
    [InlineData("/v1/embed", """{"text":"   "}""", "text: ")]
    [InlineData("/v1/check", """{"question":"q","candidates":[{"index":1,"text":"1 + 1 = 2"},{"index":1,"text":"2"}]}""", "candidates[1].index: 1 appears twice")]
    [InlineData("/v1/check", """{"question":"q","candidates":[{"index":0,"txt":"2"}]}""", "candidates[0].txt: not a field of CheckCandidate")]
    [InlineData("/v1/solve", """{"question":"q","aggregation":"AGGREGATION_BEST"}""", "aggregation: ")]
    [InlineData("/v1/solve", """{"question":"q","adaptive":{"agree":-2}}""", "adaptive.agree: must be >= 0")]
    public async Task Bad_json_and_bad_fields_get_400_naming_the_field(string path, string body, string message)
    {
        using var http = new HttpClient { BaseAddress = new Uri(suite.WebAddress) };
        using var response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(3, error["code"]!.GetValue<int>());   // INVALID_ARGUMENT
        Assert.StartsWith(message, error["message"]!.GetValue<string>());
    }

    [Fact(Timeout = 300_000)]
    public async Task Check_posted_as_JSON_answers_each_candidates_steps()
    {
        var body = """{"question":"Mia has 21 apples and gives 8 away.","candidates":[{"index":0,"text":"21 - 8 = 13"},{"index":1,"text":"21 - 8 = 14"}]}""";
        string stdout = await Tool.Run("curl", ["-sS", "--fail-with-body", "--json", body, suite.WebAddress + "/v1/check"], Paths.Root);
        var response = JsonParser.Default.Parse<CheckResponse>(stdout);
        Assert.Equal([(0, 1, 0), (1, 1, 1)], response.Results.Select(r => (r.Index, r.CheckedSteps, r.FailedSteps)));
        Assert.Equal("13", response.Results[1].FirstFailure.Computed);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_body_that_is_not_json_is_refused_naming_the_content_type()
    {
        using var http = new HttpClient { BaseAddress = new Uri(suite.WebAddress) };
        using var response = await http.PostAsync("/v1/solve", new StringContent("question=q", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith("request: the body must be JSON (content-type: application/json), got application/x-www-form-urlencoded",
            JsonNode.Parse(await response.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());
    }

    [Fact(Timeout = 300_000)]
    public async Task A_body_in_another_spelling_of_proto3_JSON_is_read_as_protobuf_reads_it()
    {
        // Proto field names, an int32 as a string, an enum by number: all proto3 JSON; transcoding alone refuses the string.
        using var http = new HttpClient { BaseAddress = new Uri(suite.WebAddress) };
        using var response = await http.PostAsync("/v1/solve", new StringContent(
            """{"question":"What is 2 + 3?","n":"2","strategy":2,"max_new_tokens":4,"temperature":0,"seed":"5"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var plan = JsonParser.Default.Parse<SolveResponse>((await response.Content.ReadAsStringAsync()).Split('\n')[0]).Plan;
        Assert.Equal(Strategy.Sampling, plan.Strategy);
        Assert.Equal(5ul, plan.Seed);
        Assert.All(plan.Candidates, c => Assert.Equal(0f, c.Temperature));   // an explicit 0 is kept (unset would be 0.7)
        Assert.Equal(2, plan.Candidates.Count);
    }

    [Fact(Timeout = 300_000)]
    public async Task Unary_routes_answer_json()
    {
        using var http = new HttpClient { BaseAddress = new Uri(suite.WebAddress) };
        var model = JsonParser.Default.Parse<ModelInfoResponse>(await http.GetStringAsync("/v1/model"));
        Assert.Equal("sprint-tiny-math", model.ModelId);
        var selector = JsonParser.Default.Parse<SelectorInfoResponse>(await http.GetStringAsync("/v1/selector"));
        var verifier = JsonParser.Default.Parse<VerifierInfoResponse>(await http.GetStringAsync("/v1/verifier"));
        Assert.True(verifier.Scores);
        Assert.Equal("sprint-tiny-math", verifier.ModelId);
        using var embedded = await http.PostAsJsonAsync("/v1/embed", new { text = Rpc.Question });
        var vector = JsonParser.Default.Parse<EmbedResponse>(await embedded.Content.ReadAsStringAsync());
        Assert.Equal(selector.InputDim, vector.Vector.Count);
        using var selected = await http.PostAsync("/v1/select", new StringContent(
            JsonFormatter.Default.Format(new SelectRequest { Vector = { vector.Vector }, EncoderId = vector.EncoderId, K = 3 }), Encoding.UTF8, "application/json"));
        Assert.Equal(3, JsonParser.Default.Parse<SelectResponse>(await selected.Content.ReadAsStringAsync()).Configurations.Count);
    }

    [Fact(Timeout = 300_000)]
    public async Task The_OpenAPI_document_lists_every_route_the_protos_declare_and_the_openai_ones()
    {
        using var http = new HttpClient { BaseAddress = new Uri(suite.WebAddress) };
        var document = JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json"))!;
        var listed = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(op => (Verb: op.Key, Path: p.Key, Method: op.Value!["operationId"]!.GetValue<string>())))
            .OrderBy(r => r.Path).ToList();
        List<(string Verb, string Path, string Method)> openAi =
        [
            ("post", "/v1/chat/completions", "openai.chat.completions.create"), ("get", "/v1/models", "openai.models.list"), ("get", "/v1/models/{id}", "openai.models.retrieve"),
        ];
        var declared = Routes().Concat(openAi).OrderBy(r => r.Path).ToList();
        Assert.Equal(declared, listed);
        Assert.Equal(12, declared.Count);
        // The chat completion request's schema, with its fields' comments, for generated clients.
        Assert.Contains("last user message", document["components"]!["schemas"]!["ChatRequest"]!["properties"]!["messages"]!["description"]!.GetValue<string>());
        // The protos' comments reach the document.
        Assert.Contains("Streams the plan", document["paths"]!["/v1/solve"]!["post"]!["summary"]!.GetValue<string>());
        Assert.Contains("Candidates", document["components"]!["schemas"]!["SolveRequest"]!["properties"]!["n"]!["description"]!.GetValue<string>());
    }

    [Fact(Timeout = 300_000)]
    public async Task A_client_hanging_up_on_a_streamed_json_call_frees_its_rows()
    {
        var engine = suite.App.Services.GetRequiredService<Sprint.Generator.GeneratorEngine>().Scheduler!;
        // No draining of the rest of the body on dispose (HttpClient's default, to reuse the connection): hang up as curl's Ctrl+C does.
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = new Uri(suite.WebAddress) };
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate")
        {
            Content = new StringContent("""{"prompt":"Count to a thousand.","stopping":{"maxNewTokens":400,"ignoreEos":true}}""", Encoding.UTF8, "application/json"),
        };
        long stepsAtHangUp;
        using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("{\"delta\"", await reader.ReadLineAsync());
            Assert.True(engine.Stats.ActiveSequences > 0, "nothing was decoding");
            stepsAtHangUp = engine.Stats.Steps;
        }   // hung up mid-stream: the HTTP/1.1 connection closes with the body unfinished
        await Rpc.AssertBatchDrains(suite);
        // Freed by the hang-up, not by running out its 400 tokens (one step a token; this collection runs one test at a time).
        Assert.True(engine.Stats.Steps - stepsAtHangUp < 300, $"{engine.Stats.Steps - stepsAtHangUp} steps after the hang-up");
    }

    [Fact(Timeout = 300_000)]
    public async Task The_metrics_port_serves_metrics_and_nothing_else()
    {
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(suite.MetricsAddress + "/metrics")).StatusCode);
        // The HTTP probes Kubernetes uses (its gRPC probe cannot speak TLS): there, and only there.
        Assert.Equal("Healthy", await http.GetStringAsync(suite.MetricsAddress + SprintServiceHost.ReadinessPath));
        Assert.Equal("Healthy", await http.GetStringAsync(suite.MetricsAddress + SprintServiceHost.LivenessPath));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(suite.WebAddress + SprintServiceHost.ReadinessPath)).StatusCode);
        foreach (var path in new[] { "/", "/v1/model", "/openapi/v1.json", "/swagger/index.html" })
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(suite.MetricsAddress + path)).StatusCode);
        using var solve = await http.PostAsJsonAsync(suite.MetricsAddress + "/v1/solve", new { question = "q" });
        Assert.Equal(HttpStatusCode.NotFound, solve.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(suite.WebAddress + "/v1/model")).StatusCode);
    }

    /// <summary>
    /// The attack of issue 21: a request to a public port that names the metrics port in its Host header gets no
    /// metrics — on the web port (HTTP/1.1) and on the gRPC port (h2c).
    /// </summary>
    [Fact(Timeout = 30_000)]
    public async Task A_host_header_naming_the_metrics_port_gets_no_metrics_on_a_public_port()
    {
        int metricsPort = new Uri(suite.MetricsAddress).Port;
        using var http = new HttpClient();
        using var web = new HttpRequestMessage(HttpMethod.Get, suite.WebAddress + "/metrics");
        web.Headers.Host = $"127.0.0.1:{metricsPort}";   // a name the loopback host filter allows
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(web)).StatusCode);

        using var h2c = new HttpRequestMessage(HttpMethod.Get, suite.App.GrpcAddress() + "/metrics")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        h2c.Headers.Host = $"localhost:{metricsPort}";
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(h2c)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(suite.MetricsAddress + "/metrics")).StatusCode);
    }
}
