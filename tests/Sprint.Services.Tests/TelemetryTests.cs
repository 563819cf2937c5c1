using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Sprint.Contracts.V1;

namespace Sprint.Services.Tests;

[Collection(SuiteCollection.Name)]
public sealed class TelemetryTests(SuiteFixture suite)
{
    [Fact]
    public async Task Prometheus_metrics_are_served_on_the_metrics_port_alone()
    {
        await Rpc.Solve(suite.Gateway, new SolveRequest { Question = Rpc.Question, N = 2, MaxNewTokens = 16 });
        using var http = new HttpClient();
        var text = await http.GetStringAsync(suite.MetricsAddress + "/metrics");
        foreach (var family in new[]
        {
            "# TYPE sprint_gateway_solves_total counter", "# TYPE sprint_gateway_solve_duration_milliseconds histogram",
            "# TYPE sprint_generator_tokens_total counter", "# TYPE sprint_generator_time_to_first_token_milliseconds histogram",
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

    [Fact]
    public async Task Generate_records_tokens_and_time_to_first_token_and_a_server_span()
    {
        var factory = suite.App.Services.GetRequiredService<IMeterFactory>();
        long tokens = 0;
        var firstToken = new List<double>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == "Sprint.Generator") listener.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<long>((i, value, _, _) => { if (i.Name == "sprint.generator.tokens") Interlocked.Add(ref tokens, value); });
        meters.SetMeasurementEventCallback<double>((i, value, _, _) => { if (i.Name == "sprint.generator.time_to_first_token") lock (firstToken) firstToken.Add(value); });
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
        Assert.Equal(result.TokenIds.Count, Interlocked.Read(ref tokens));
        Assert.Single(firstToken);
        lock (spans) Assert.Contains(spans, s => s.Contains("sprint.v1.GeneratorService/Generate"));
    }

    static readonly ActivitySource Source = new("Sprint.Tests");

    [Fact]
    public async Task One_solve_is_one_trace_across_the_gateways_upstream_calls()
    {
        // The suite's own processes are one here, but every hop is a real gRPC call over loopback: the W3C trace
        // context travels in the request headers as it would between processes.
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore" or "System.Net.Http" or "Grpc.Net.Client" or "Sprint.Gateway" or "Sprint.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => { lock (stopped) stopped.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);
        var question = $"Ava has {Random.Shared.Next(10, 99)} pens. Then Noah gives Ava 4 pens. How many pens does Ava have now?";
        // The client's own span: its trace id tells this Solve's spans from those of other tests running meanwhile.
        ActivityTraceId trace;
        using (var client = Source.StartActivity("client", ActivityKind.Client)!)
        {
            trace = client.TraceId;
            await Rpc.Solve(suite.Gateway, new SolveRequest { Question = question, N = 2, MaxNewTokens = 16 });
        }
        await Task.Delay(200);   // the last server spans stop after the response

        List<Activity> spans;
        lock (stopped) spans = stopped.Where(a => a.TraceId == trace).ToList();
        Activity Server(string method) => spans.Single(a => a.Kind == ActivityKind.Server && a.DisplayName.Contains(method));
        var solve = Server("GatewayService/Solve");
        var byId = spans.GroupBy(a => a.SpanId).ToDictionary(g => g.Key, g => g.First());
        bool Under(Activity span, Activity root)
        {
            for (var parent = span.ParentSpanId; parent != default; parent = byId.TryGetValue(parent, out var p) ? p.ParentSpanId : default)
                if (parent == root.SpanId) return true;
            return false;
        }
        foreach (var method in new[] { "EmbeddingService/Embed", "HeadSelectorService/Select", "GeneratorService/GenerateGroup" })
        {
            var upstream = spans.Where(a => a.Kind == ActivityKind.Server && a.DisplayName.Contains(method) && a.TraceId == solve.TraceId).ToList();
            Assert.True(upstream.Count > 0, $"no {method} span in the Solve's trace");
            Assert.All(upstream, u => Assert.True(Under(u, solve), $"{method}'s span is not below the Solve's"));
        }
        // The candidates' span: their indices, configurations and token counts, the parent of GenerateGroup's server span.
        var candidates = spans.Single(a => a.OperationName == "sprint.gateway.candidates" && a.TraceId == solve.TraceId);
        Assert.Equal("0,1", candidates.GetTagItem("sprint.candidate.indices"));
        Assert.Equal(2, ((string)candidates.GetTagItem("sprint.candidate.tokens")!).Split(',').Count(t => int.Parse(t) > 0));
        Assert.True(Under(Server("GeneratorService/GenerateGroup"), candidates));
    }
}
