using System.CommandLine;
using Grpc.Core;
using Grpc.Net.Client;
using Sprint.AppHost;
using Sprint.Contracts.V1;
using Sprint.Core;
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
        var n = new Option<int>("--n") { Description = "Candidates (1..64)", DefaultValueFactory = _ => Defaults.N };
        var strategy = new Option<string>("--strategy") { Description = "sprint, sampling, random_heads, global_top or greedy", DefaultValueFactory = _ => Core.Strategy.Sprint.Name() };
        var gateway = new Option<string?>("--gateway") { Description = "Gateway address, e.g. http://127.0.0.1:5000 (default: start the suite in-process)" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "New tokens per candidate", DefaultValueFactory = _ => Defaults.MaxNewTokens };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature (default: 0.7 for sampling, greedy otherwise)" };
        var seed = new Option<ulong?>("--seed") { Description = "Fixes random heads and samples" };
        var plain = new Option<bool>("--plain") { Description = "Plain lines instead of the live table (automatic when output is redirected)" };
        var model = ServeCommand.ModelOption();
        var selector = ServeCommand.SelectorOption();
        var redis = ServeCommand.RedisOption();
        var client = new ClientChannel();
        var command = new Command("solve", "Solve a question best-of-N through the gRPC suite, streaming every candidate and the verdict")
        {
            question, n, strategy, gateway, maxNew, temperature, seed, plain, model, selector, redis,
        };
        foreach (var option in client.Options) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            SolveRequest request;
            try
            {
                request = new SolveRequest { Question = parse.GetValue(question)!, N = parse.GetValue(n), Strategy = StrategyNames.Parse(parse.GetValue(strategy)!, "--strategy").ToProto(), MaxNewTokens = parse.GetValue(maxNew) };
            }
            catch (InvalidFieldException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            await using var suite = parse.GetValue(gateway) is null ? await StartSuiteAsync(parse.GetValue(model)!, parse.GetValue(selector), parse.GetValue(redis), error, ct) : null;
            if (parse.GetValue(gateway) is null && suite is null) return 1;
            var address = parse.GetValue(gateway) ?? suite!.GrpcAddress();
            using var channel = client.Create(parse, address);

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

    /// <summary>The suite in this process, once every part it needs has loaded; null (after saying why) when a part failed.</summary>
    static async Task<Microsoft.AspNetCore.Builder.WebApplication?> StartSuiteAsync(string modelDir, string? selector, string? redis, TextWriter error, CancellationToken ct)
    {
        var app = SuiteHost.Build(0, modelDir, selector, redis, quiet: true, []);
        await app.StartAsync(ct);
        try
        {
            await SuiteHost.WaitReadyAsync(app, TimeSpan.FromMinutes(5), ct);
            return app;
        }
        catch (InvalidOperationException e)
        {
            error.WriteLine($"error: the suite could not start: {e.Message}");
            await app.DisposeAsync();
            return null;
        }
    }
}
