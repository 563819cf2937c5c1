using System.Security.Claims;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Microsoft.AspNetCore.Builder;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>
/// The suite with Service:Auth and Service:RateLimits on: API keys stored hashed, JWT bearer tokens with a shared
/// signing key, the gateway reaching its upstreams with the service key, health open, refusals as gRPC statuses.
/// </summary>
public sealed class AuthTests : IAsyncLifetime
{
    const string ClientKey = "sk-test-client-0123456789", BurstKey = "sk-test-burst-0123456789", BudgetKey = "sk-test-budget-0123456789";
    static readonly byte[] SigningKey = Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 1)).ToArray();
    WebApplication? app;

    string webAddress = "";

    public async Task InitializeAsync()
    {
        int webPort = SuiteFixture.FreePort();
        webAddress = $"http://127.0.0.1:{webPort}";
        app = InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true,
        [
            "--Generator:Threads=1", "--Embedding:Threads=1", $"--Service:WebPort={webPort}",
            "--Service:Auth:ApiKeys:0:Name=client", $"--Service:Auth:ApiKeys:0:Sha256={ApiKeyHandler.Hash(ClientKey)}",
            "--Service:Auth:ApiKeys:1:Name=burst", $"--Service:Auth:ApiKeys:1:Sha256={ApiKeyHandler.Hash(BurstKey)}", "--Service:Auth:ApiKeys:1:Services:0=generator",
            // No Service:Auth:ServiceKey: sprint serve's host makes one for the gateway's calls inside the process.
            "--Service:Auth:ApiKeys:2:Name=budget", $"--Service:Auth:ApiKeys:2:Sha256={ApiKeyHandler.Hash(BudgetKey)}",
            "--Service:RateLimits:Tokens=70000", "--Service:RateLimits:TokenWindow=00:10:00",
            $"--Service:Auth:Jwt:SigningKey={Convert.ToBase64String(SigningKey)}", "--Service:Auth:Jwt:Issuer=test-issuer", "--Service:Auth:Jwt:Audience=sprint",
            "--Service:RateLimits:Requests=5", "--Service:RateLimits:Window=00:01:00",
        ]);
        await app.StartAsync();
        await InProcessSuite.WaitReadyAsync(app, TimeSpan.FromMinutes(2), CancellationToken.None);
    }

    GrpcChannel Channel(string? bearer) => GrpcChannel.ForAddress(app!.GrpcAddress(), new GrpcChannelOptions
    {
        HttpHandler = bearer is null ? new SocketsHttpHandler() : new ServiceKeyHandler(bearer, new SocketsHttpHandler()),
    });

    static string Jwt(string scope, byte[] key, string subject = "jwt-user", string? audience = "sprint", string? algorithm = SecurityAlgorithms.HmacSha256,
        params Claim[] extra) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = "test-issuer",
        Audience = audience,
        Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("scope", scope), .. extra]),
        Expires = DateTime.UtcNow.AddMinutes(5),
        SigningCredentials = algorithm is null ? null : new SigningCredentials(new SymmetricSecurityKey(key), algorithm),
    });

    static async Task<StatusCode> StatusOf(Func<Task> call)
    {
        try { await call(); return StatusCode.OK; }
        catch (RpcException e) { return e.StatusCode; }
    }

    [Fact(Timeout = 300_000)]
    public async Task Without_a_valid_credential_only_health_answers()
    {
        foreach (var bearer in new[] { null, "sk-unknown", Jwt("gateway", new byte[32]) })   // none, an unknown key, a token signed with another key
        {
            using var channel = Channel(bearer);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest())).Status);
            Assert.Equal(StatusCode.Unauthenticated, await StatusOf(() => Rpc.Solve(new GatewayService.GatewayServiceClient(channel), new SolveRequest { Question = Rpc.Question, N = 1 })));
            Assert.Equal(StatusCode.Unauthenticated, await StatusOf(() => new GeneratorService.GeneratorServiceClient(channel).ModelInfoAsync(new ModelInfoRequest()).ResponseAsync));
            Assert.Equal(StatusCode.Unauthenticated, await StatusOf(async () =>
            {
                using var reflection = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
                await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
                await reflection.ResponseStream.MoveNext(CancellationToken.None);
            }));
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task A_client_key_solves_through_the_gateway_but_may_not_call_the_generator()
    {
        using var channel = Channel(ClientKey);
        var events = await Rpc.Solve(new GatewayService.GatewayServiceClient(channel), new SolveRequest { Question = Rpc.Question, N = 2, MaxNewTokens = 16 });
        var (plan, results, _) = Rpc.AssertWellFormed(events);   // the gateway's own calls (embed, select, generate) carry the internal key
        Assert.Equal(2, plan.Candidates.Count);
        Assert.All(results, r => Assert.Empty(r.Error));
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => new GeneratorService.GeneratorServiceClient(channel).ModelInfoAsync(new ModelInfoRequest()).ResponseAsync));
    }

    [Fact(Timeout = 300_000)]
    public async Task The_python_and_node_clients_send_an_api_key()
    {
        var address = new Uri(app!.GrpcAddress()).Authority;
        var key = new Dictionary<string, string> { ["SPRINT_API_KEY"] = ClientKey };
        Clients.AssertSummary(await Clients.Python(address, 2, "sampling", key), 2);
        Clients.AssertSummary(await Clients.Node(address, 2, "sampling", key), 2);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_jwt_is_accepted_for_the_services_its_scope_names()
    {
        using var channel = Channel(Jwt("generator selector", SigningKey));
        Assert.Equal(StatusCode.OK, await StatusOf(() => new GeneratorService.GeneratorServiceClient(channel).ModelInfoAsync(new ModelInfoRequest()).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => new EmbeddingService.EmbeddingServiceClient(channel).EmbedAsync(new EmbedRequest { Text = "x" }).ResponseAsync));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_jwt_without_the_audience_or_unsigned_is_refused()
    {
        foreach (var token in new[] { Jwt("*", SigningKey, audience: null), Jwt("*", SigningKey, audience: "another-service"),
                                      Jwt("*", SigningKey, algorithm: null) })   // alg "none"
        {
            using var channel = Channel(token);
            Assert.Equal(StatusCode.Unauthenticated, await StatusOf(() => new GeneratorService.GeneratorServiceClient(channel).ModelInfoAsync(new ModelInfoRequest()).ResponseAsync));
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task A_jwt_cannot_grant_itself_services_or_an_exemption_with_the_api_keys_claims()
    {
        // The attack: the API-key scheme's own claims written into a token. Services come from the scope alone ...
        using (var channel = Channel(Jwt("generator", SigningKey, extra: new Claim(SprintClaims.Service, "*"))))
            Assert.Equal(StatusCode.PermissionDenied, await StatusOf(() => new EmbeddingService.EmbeddingServiceClient(channel).EmbedAsync(new EmbedRequest { Text = "x" }).ResponseAsync));
        // ... and "unlimited" is a key's setting: the token is limited like any other caller (5 calls a minute here).
        using var unlimited = Channel(Jwt("generator", SigningKey, subject: "greedy", extra: new Claim(SprintClaims.Unlimited, "true")));
        var client = new GeneratorService.GeneratorServiceClient(unlimited);
        for (int i = 0; i < 5; i++) await client.ModelInfoAsync(new ModelInfoRequest());
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ModelInfoAsync(new ModelInfoRequest()).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.StartsWith("rate limit for jwt:greedy:", e.Status.Detail);
    }

    [Fact(Timeout = 300_000)]
    public async Task A_jwt_whose_subject_is_a_keys_name_does_not_spend_that_keys_budget()
    {
        using (var token = Channel(Jwt("generator", SigningKey, subject: "burst")))
        {
            var asToken = new GeneratorService.GeneratorServiceClient(token);
            for (int i = 0; i < 5; i++) await asToken.ModelInfoAsync(new ModelInfoRequest());
        }
        using var key = Channel(BurstKey);
        var asKey = new GeneratorService.GeneratorServiceClient(key);
        for (int i = 0; i < 5; i++) await asKey.ModelInfoAsync(new ModelInfoRequest());   // its own 5
        Assert.Equal(StatusCode.ResourceExhausted, await StatusOf(() => asKey.ModelInfoAsync(new ModelInfoRequest()).ResponseAsync));
    }

    [Fact(Timeout = 300_000)]
    public async Task A_caller_beyond_its_rate_limit_gets_resource_exhausted_with_a_retry_hint()
    {
        using var channel = Channel(BurstKey);
        var client = new GeneratorService.GeneratorServiceClient(channel);
        for (int i = 0; i < 5; i++) await client.ModelInfoAsync(new ModelInfoRequest());
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ModelInfoAsync(new ModelInfoRequest()).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.StartsWith("rate limit for key:burst: 5 calls per 60 s", e.Status.Detail);
        Assert.True(long.Parse(e.Trailers.GetValue("grpc-retry-pushback-ms")!) > 0);
        // Another caller has its own partition.
        using var other = Channel(ClientKey);
        await Rpc.Solve(new GatewayService.GatewayServiceClient(other), new SolveRequest { Question = Rpc.Question, N = 1, Strategy = Strategy.Greedy, MaxNewTokens = 8 });
    }

    [Fact(Timeout = 300_000)]
    public async Task Http_json_callers_get_http_statuses_for_the_same_refusals()
    {
        // JSON transcoding on the gRPC port (HTTP/2 with prior knowledge, as curl --http2-prior-knowledge).
        using var http = new HttpClient
        {
            BaseAddress = new Uri(app!.GrpcAddress()), DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        async Task<(System.Net.HttpStatusCode Status, int Code, HttpResponseMessage Response)> Call(string method, string path, string? bearer, string? json = null)
        {
            var request = new HttpRequestMessage(new HttpMethod(method), path) { Version = http.DefaultRequestVersion, VersionPolicy = http.DefaultVersionPolicy };
            if (json is not null) request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            if (bearer is not null) request.Headers.Authorization = new("Bearer", bearer);
            var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            int code = response.IsSuccessStatusCode ? 0 : System.Text.Json.Nodes.JsonNode.Parse(body)!["code"]!.GetValue<int>();
            return (response.StatusCode, code, response);
        }
        const string solve = """{"question":"What is 2 + 3?","n":1,"strategy":"STRATEGY_GREEDY","maxNewTokens":4}""";
        var anonymous = await Call("POST", "/v1/solve", null, solve);
        Assert.Equal((System.Net.HttpStatusCode.Unauthorized, (int)StatusCode.Unauthenticated), (anonymous.Status, anonymous.Code));
        var generatorOnly = await Call("POST", "/v1/solve", BurstKey, solve);
        Assert.Equal((System.Net.HttpStatusCode.Forbidden, (int)StatusCode.PermissionDenied), (generatorOnly.Status, generatorOnly.Code));
        Assert.Equal(System.Net.HttpStatusCode.OK, (await Call("POST", "/v1/solve", ClientKey, solve)).Status);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await Call("GET", "/openapi/v1.json", null)).Status);   // the document is open, as health is

        long rejections = 0;
        using var meters = new System.Diagnostics.Metrics.MeterListener();
        meters.InstrumentPublished = (instrument, listener) => { if (instrument.Name == "sprint.rate_limit.rejections") listener.EnableMeasurementEvents(instrument); };
        meters.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref rejections, value));
        meters.Start();
        // The burst key's 5 calls a minute (authorization refuses before the limiter counts).
        for (int i = 0; i < 5; i++) Assert.Equal(System.Net.HttpStatusCode.OK, (await Call("GET", "/v1/model", BurstKey)).Status);
        var (status, code, limited) = await Call("GET", "/v1/model", BurstKey);
        Assert.Equal((System.Net.HttpStatusCode.TooManyRequests, (int)StatusCode.ResourceExhausted), (status, code));
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(1, Interlocked.Read(ref rejections));   // the rate-limit rejection counter the dashboard charts
        // The limiter refuses before the body is even read: a malformed one beyond the limit is 429, not 400.
        var beyond = await Call("POST", "/v1/generate", BurstKey, "{\"prompt\":");
        Assert.Equal((System.Net.HttpStatusCode.TooManyRequests, (int)StatusCode.ResourceExhausted), (beyond.Status, beyond.Code));
    }

    [Fact(Timeout = 300_000)]
    public async Task The_token_budget_refuses_a_64_by_1024_solve_once_spent_and_says_when_to_retry()
    {
        using var channel = Channel(BudgetKey);
        var gateway = new GatewayService.GatewayServiceClient(channel);
        var big = new SolveRequest { Question = Rpc.Question, N = 64, MaxNewTokens = 1024, Strategy = Strategy.Sampling };
        // 65,536 tokens of the 70,000: charged when admitted, so the plan arrives; the caller then hangs up.
        using (var cts = new CancellationTokenSource())
        using (var first = gateway.Solve(big, cancellationToken: cts.Token))
        {
            Assert.True(await first.ResponseStream.MoveNext(CancellationToken.None));
            Assert.NotNull(first.ResponseStream.Current.Plan);
            cts.Cancel();
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(() => Rpc.Solve(gateway, big));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"refused after {clock.Elapsed}: before any model work");
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Matches(@"^token budget for key:budget: 70000 tokens per 600 s spent; this request may generate 65536 tokens; retry after \d", e.Status.Detail);
        Assert.True(long.Parse(e.Trailers.GetValue("grpc-retry-pushback-ms")!) > 0);
        // A small Solve still fits what is left (4,464 tokens).
        await Rpc.Solve(gateway, new SolveRequest { Question = Rpc.Question, N = 2, MaxNewTokens = 8, Strategy = Strategy.Sampling });
    }

    /// <summary>A key that may call the generator directly is charged there too (the gateway's own key is exempt, so a Solve is charged once).</summary>
    [Fact(Timeout = 300_000)]
    public async Task The_token_budget_also_charges_direct_generator_calls()
    {
        using var channel = Channel(BurstKey);
        var generator = new GeneratorService.GeneratorServiceClient(channel);
        GenerateGroupRequest Group()
        {
            var group = new GenerateGroupRequest { Prompt = Rpc.Question, Format = PromptFormat.Chat, Stopping = new StoppingParameters { MaxNewTokens = 400 } };
            for (int i = 0; i < 64; i++) group.Candidates.Add(new GroupCandidate { Index = i });
            return group;
        }
        for (int i = 0; i < 2; i++)   // 2 × 25,600 of the 70,000; admitted, then hung up on
        {
            using var cts = new CancellationTokenSource();
            using var call = generator.GenerateGroup(Group(), cancellationToken: cts.Token);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            cts.Cancel();
        }
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = generator.GenerateGroup(Group());
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.StartsWith("token budget for key:burst: 70000 tokens per 600 s spent; this request may generate 25600 tokens", e.Status.Detail);
    }

    /// <summary>The OpenAI routes under the same authentication and limits, refusing in OpenAI's shape (the official npm and NuGet SDKs).</summary>
    [Fact(Timeout = 300_000)]
    public async Task The_openai_routes_refuse_a_missing_key_and_a_rate_limited_one_in_openai_shape()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(await Clients.NodeOpenAi(webAddress + "/v1", "sprint-tiny-math", 2, 1, "errors",
            new Dictionary<string, string> { ["SPRINT_API_KEY"] = ClientKey }))!;
        Assert.Equal((401, "invalid_api_key"), (node["noKey"]!["status"]!.GetValue<int>(), node["noKey"]!["code"]!.GetValue<string>()));
        Assert.Equal((429, "rate_limit_exceeded"), (node["limited"]!["status"]!.GetValue<int>(), node["limited"]!["code"]!.GetValue<string>()));
        Assert.True(int.Parse(node["limited"]!["retryAfter"]!.GetValue<string>()) > 0);
        Assert.Equal((400, 404), (node["badN"]!["status"]!.GetValue<int>(), node["unknownModel"]!["status"]!.GetValue<int>()));   // with the key: past authentication

        var anonymous = new OpenAI.Chat.ChatClient("sprint-tiny-math", new System.ClientModel.ApiKeyCredential("sk-not-a-key"),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(webAddress + "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });
        var e = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => anonymous.CompleteChatAsync([new OpenAI.Chat.UserChatMessage(Rpc.Question)]));
        Assert.Equal(401, e.Status);
        Assert.Equal("invalid_request_error", System.Text.Json.Nodes.JsonNode.Parse(e.GetRawResponse()!.Content.ToString())!["error"]!["type"]!.GetValue<string>());
        // A key for the generator only may not use the gateway's routes: 403.
        var generatorOnly = new OpenAI.Chat.ChatClient("sprint-tiny-math", new System.ClientModel.ApiKeyCredential(BurstKey),
            new OpenAI.OpenAIClientOptions { Endpoint = new Uri(webAddress + "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });
        var forbidden = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => generatorOnly.CompleteChatAsync([new OpenAI.Chat.UserChatMessage(Rpc.Question)]));
        Assert.Equal(403, forbidden.Status);
        Assert.Equal("permission_denied", System.Text.Json.Nodes.JsonNode.Parse(forbidden.GetRawResponse()!.Content.ToString())!["error"]!["code"]!.GetValue<string>());
    }

    public async Task DisposeAsync()
    {
        if (app is not null) await app.DisposeAsync();
    }
}
