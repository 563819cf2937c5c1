using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

[Collection(SuiteCollection.Name)]
public sealed class TelemetryTests(SuiteFixture suite)
{
    [Fact(Timeout = 300_000)]
    public async Task Prometheus_metrics_are_served_on_the_metrics_port_alone()
    {
        await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = 2, MaxNewTokens = 16 });
        using var http = new HttpClient();
        var text = await http.GetStringAsync(suite.MetricsAddress + "/metrics");
        foreach (var family in new[]
        {
            "# TYPE sprint_gateway_solves_total counter", "# TYPE sprint_gateway_solve_duration_milliseconds histogram",
            "# TYPE sprint_generator_tokens_total counter", "# TYPE gen_ai_server_time_to_first_token_seconds histogram",
            "# TYPE gen_ai_server_time_per_output_token_seconds histogram", "# TYPE gen_ai_server_request_duration_seconds histogram",
            "# TYPE sprint_generator_batch_size histogram", "# TYPE sprint_generator_sequence_prefill_duration_seconds histogram",
            "# TYPE sprint_generator_active_sequences gauge", "# TYPE sprint_generator_queued_sequences gauge",
            "# TYPE sprint_embedding_batch_size histogram", "# TYPE sprint_embedding_cache_lookups_total counter",
            "# TYPE sprint_generator_steps_total counter", "# TYPE sprint_generator_decode_time_seconds_total counter",
            "# TYPE sprint_generator_prefill_time_seconds_total counter", "# TYPE rpc_server_duration_milliseconds histogram",
        })
            Assert.Contains(family, text);
        Assert.Matches("sprint_gateway_solves_total\\{[^}]*strategy=\"sprint\"[^}]*\\} [1-9]", text);
        Assert.Matches("rpc_server_duration_milliseconds_count\\{[^}]*rpc_method=\"Solve\"[^}]*rpc_service=\"sprint.v1.GatewayService\"[^}]*\\} [1-9]", text);
        // Not on the web port (the public one where a gateway is exposed).
        using var web = await http.GetAsync(suite.WebAddress + "/metrics");
        Assert.DoesNotContain("sprint_gateway_solves_total", await web.Content.ReadAsStringAsync());
    }

    [Fact(Timeout = 300_000)]
    public async Task Generate_records_tokens_latencies_and_batch_sizes_and_a_server_span()
    {
        var factory = suite.App.Services.GetRequiredService<IMeterFactory>();
        long input = 0, output = 0, steps = 0;
        var latencies = new Dictionary<string, List<double>>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == "Sprint.Generator") listener.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<long>((i, value, tags, _) =>
        {
            if (i.Name != "sprint.generator.tokens") return;
            foreach (var tag in tags)
                if (tag.Key == "gen_ai.token.type") Interlocked.Add(ref (string)tag.Value! == "input" ? ref input : ref output, value);
        });
        meters.SetMeasurementEventCallback<double>((i, value, _, _) =>
        {
            lock (latencies) (latencies.TryGetValue(i.Name, out var list) ? list : latencies[i.Name] = []).Add(value);
        });
        meters.SetMeasurementEventCallback<int>((i, value, _, _) => { if (i.Name == "sprint.generator.batch_size" && value >= 1) Interlocked.Increment(ref steps); });
        meters.Start();

        var spans = new List<string>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => { lock (spans) spans.Add(a.DisplayName); },
        };
        ActivitySource.AddActivityListener(activities);

        var events = await Rpc.ReadAll(suite.Generator.Generate(new GenerateRequest { Prompt = Rpc.Question, Stopping = new StoppingParameters { MaxNewTokens = 40 } }));
        var result = events[^1].Result;
        Assert.Equal(result.TokenIds.Count, Interlocked.Read(ref output));
        Assert.Equal(result.PromptTokens, Interlocked.Read(ref input));
        lock (latencies)
        {
            Assert.Equal(result.TimeToFirstTokenMs / 1000, Assert.Single(latencies["gen_ai.server.time_to_first_token"]), 6);
            Assert.Equal(result.TimePerTokenMs / 1000, Assert.Single(latencies["gen_ai.server.time_per_output_token"]), 6);
            double total = Assert.Single(latencies["gen_ai.server.request.duration"]);
            Assert.True(total >= result.TimeToFirstTokenMs / 1000);
            double stages = new[] { "queue", "prefill", "decode" }.Sum(stage => Assert.Single(latencies[$"sprint.generator.sequence.{stage}_duration"]));
            Assert.InRange(stages, 0.0, total);   // the scheduler's stages lie within the call's own time
        }
        // Every token after the first comes from a decode step (other tests' steps may count too: at least these).
        Assert.True(Interlocked.Read(ref steps) >= result.TokenIds.Count - 1);
        lock (spans) Assert.Contains(spans, s => s.Contains("sprint.v1.GeneratorService/Generate"));
    }

    /// <summary>
    /// A caller's span, current until disposed: the client's HTTP handler sends its W3C traceparent with every call
    /// (a bare traceparent header would be replaced by the handler's own when something in the process listens to
    /// HttpClient, as the in-process suites' OpenTelemetry does).
    /// </summary>
    public static Activity CallerSpan()
    {
        var caller = new Activity("sprint.tests.caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        caller.ActivityTraceFlags = ActivityTraceFlags.Recorded;   // sampled: the services' parent-based samplers record the trace
        return caller;
    }
}

/// <summary>
/// The suite (all four services in this process, every hop a real gRPC call over loopback) with OpenTelemetry's
/// in-memory exporter added to its tracer provider: what an operator's collector would receive.
/// </summary>
public sealed class TracedSuite : IAsyncLifetime
{
    public List<Activity> Exported { get; } = [];
    public WebApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = InProcessSuite.Build(0, Paths.Model, Paths.Selector, redis: null, quiet: true, ["--Generator:Threads=1", "--Embedding:Threads=1"],
            builder => builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(Exported)));
        await App.StartAsync();
        await InProcessSuite.WaitReadyAsync(App, TimeSpan.FromMinutes(2), CancellationToken.None);
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class TraceTests(TracedSuite suite) : IClassFixture<TracedSuite>
{
    [Fact(Timeout = 300_000)]
    public async Task One_solve_is_one_exported_trace_with_the_generators_stages_below_its_group_call()
    {
        using var channel = GrpcChannel.ForAddress(suite.App.GrpcAddress());
        var question = $"Ava has {Random.Shared.Next(10, 99)} pens. Then Noah gives Ava 4 pens. How many pens does Ava have now?";
        ActivityTraceId trace;
        using (var caller = TelemetryTests.CallerSpan())
        {
            trace = caller.TraceId;
            Rpc.AssertWellFormed(await Rpc.Solve(new GatewayService.GatewayServiceClient(channel), new SolveRequest { Question = question, N = 2, MaxNewTokens = 16 }));
        }
        List<Activity> spans = [];
        for (var until = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < until; await Task.Delay(50))   // the last server spans end after the response
        {
            lock (suite.Exported) spans = suite.Exported.Where(a => a.TraceId == trace).ToList();
            if (spans.Count(a => a.OperationName == "sprint.generator.decode") == 2 && spans.Any(a => a.Kind == ActivityKind.Server && a.DisplayName.EndsWith("/sprint.v1.GatewayService/Solve", StringComparison.Ordinal))) break;
        }

        Activity Server(string method) => spans.Single(a => a.Kind == ActivityKind.Server && a.DisplayName.EndsWith("/" + method, StringComparison.Ordinal));
        var solve = Server("sprint.v1.GatewayService/Solve");
        var byId = spans.ToDictionary(a => a.SpanId);
        bool Under(Activity span, Activity root)
        {
            for (var parent = span.ParentSpanId; parent != default; parent = byId.TryGetValue(parent, out var p) ? p!.ParentSpanId : default)
                if (parent == root.SpanId) return true;
            return false;
        }
        // Every exported span of the trace hangs from the Solve's (no orphan: each parent was exported too), but the
        // test client's own (its gRPC and HTTP client spans, above the Solve's: the client runs in this process).
        Assert.All(spans.Where(a => a != solve && !Under(solve, a)), a => Assert.True(Under(a, solve), $"{a.DisplayName} is not below the Solve's span"));
        // The candidates run as a SteerGroup call under the default rejection policy (GenerateGroup without one).
        string groupMethod = spans.Any(a => a.Kind == ActivityKind.Server && a.DisplayName.Contains("SteerGroup")) ? "sprint.v1.GeneratorService/SteerGroup" : "sprint.v1.GeneratorService/GenerateGroup";
        foreach (var method in new[] { "sprint.v1.EmbeddingService/Embed", "sprint.v1.HeadSelectorService/Select", groupMethod })
            Assert.True(Under(Server(method), solve), $"{method}'s span is not below the Solve's");
        // The candidates' span: their indices, configurations and token counts, the parent of GenerateGroup's server span.
        var candidates = spans.Single(a => a.OperationName == "sprint.gateway.candidates");
        Assert.Equal("0,1", candidates.GetTagItem("sprint.candidate.indices"));
        Assert.Equal(2, ((string)candidates.GetTagItem("sprint.candidate.tokens")!).Split(',').Count(t => int.Parse(t) > 0));
        var group = Server(groupMethod);
        Assert.True(Under(group, candidates));
        // Each candidate's stages on the generator, in order, as children of the group call.
        foreach (int index in new[] { 0, 1 })
        {
            Activity Stage(string name) => spans.Single(a => a.OperationName == "sprint.generator." + name && (int?)a.GetTagItem("sprint.candidate.index") == index);
            var (queue, prefill, decode) = (Stage("queue"), Stage("prefill"), Stage("decode"));
            Assert.All(new[] { queue, prefill, decode }, s => Assert.Equal(group.SpanId, s.ParentSpanId));
            Assert.True(queue.StartTimeUtc <= prefill.StartTimeUtc && prefill.StartTimeUtc + prefill.Duration <= decode.StartTimeUtc);
            Assert.True(prefill.StartTimeUtc >= group.StartTimeUtc && decode.StartTimeUtc + decode.Duration <= group.StartTimeUtc + group.Duration);
            Assert.True((int)prefill.GetTagItem("gen_ai.usage.input_tokens")! > 0);
            Assert.True((int)decode.GetTagItem("gen_ai.usage.output_tokens")! > 0);
        }
    }
}
