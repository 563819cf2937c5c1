using System.CommandLine;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Sprint.Contracts.V1;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary>
/// <c>sprint solve</c>: streams one Solve from a gateway — or, without --gateway, from the suite started in this
/// process on a free loopback port and reached over real gRPC.
/// </summary>
static class SolveCommand
{
    public static Command Create()
    {
        var question = new Argument<string>("question") { Description = "The math question" };
        var n = new Option<int>("--n") { Description = "Candidates (1..64)", DefaultValueFactory = _ => 8 };
        var strategy = new Option<string>("--strategy") { Description = "sprint, sampling, random_heads or greedy", DefaultValueFactory = _ => "sprint" };
        var gateway = new Option<string?>("--gateway") { Description = "Gateway address, e.g. http://127.0.0.1:5000 (default: start the suite in-process)" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "New tokens per candidate", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature (default: 0.7 for sampling, greedy otherwise)" };
        var seed = new Option<ulong?>("--seed") { Description = "Fixes random heads and samples" };
        var plain = new Option<bool>("--plain") { Description = "Plain lines instead of the live table (automatic when output is redirected)" };
        var model = ServeCommand.ModelOption();
        var selector = ServeCommand.SelectorOption();
        var redis = ServeCommand.RedisOption();
        var command = new Command("solve", "Solve a question best-of-N through the gRPC suite, streaming every candidate and the verdict")
        {
            question, n, strategy, gateway, maxNew, temperature, seed, plain, model, selector, redis,
        };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            await using var suite = parse.GetValue(gateway) is null ? await StartSuiteAsync(parse.GetValue(model)!, parse.GetValue(selector), parse.GetValue(redis), ct) : null;
            var address = parse.GetValue(gateway) ?? suite!.GrpcAddress();
            using var channel = GrpcChannel.ForAddress(address);
            if (suite is not null) await WaitServingAsync(channel, ct);

            var request = new SolveRequest { Question = parse.GetValue(question)!, N = parse.GetValue(n), Strategy = parse.GetValue(strategy)!, MaxNewTokens = parse.GetValue(maxNew) };
            if (parse.GetValue(temperature) is { } t) request.Temperature = t;
            if (parse.GetValue(seed) is { } s) request.Seed = s;
            ISolveView view = parse.GetValue(plain) || Console.IsOutputRedirected || output != Console.Out ? new PlainSolveView(output) : new LiveSolveView();
            try
            {
                using var call = new GatewayService.GatewayServiceClient(channel).Solve(request, cancellationToken: ct);
                await view.RunAsync(call.ResponseStream.ReadAllAsync(ct));
                return 0;
            }
            catch (RpcException e)
            {
                error.WriteLine($"error: {e.StatusCode}: {e.Status.Detail}");
                return e.StatusCode == StatusCode.InvalidArgument ? 2 : 1;
            }
        });
        return command;
    }

    static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartSuiteAsync(string modelDir, string? selector, string? redis, CancellationToken ct)
    {
        var app = SuiteHost.Build(0, modelDir, selector ?? Path.Combine(modelDir, "selector.safetensors"), redis, quiet: true, []);
        await app.StartAsync(ct);
        return app;
    }

    /// <summary>Waits until the in-process suite's overall health is SERVING (models loaded).</summary>
    public static async Task WaitServingAsync(GrpcChannel channel, CancellationToken ct)
    {
        var health = new Health.HealthClient(channel);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        while (true)
        {
            var status = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: timeout.Token);
            if (status.Status == HealthCheckResponse.Types.ServingStatus.Serving) return;
            await Task.Delay(100, timeout.Token);
        }
    }
}
