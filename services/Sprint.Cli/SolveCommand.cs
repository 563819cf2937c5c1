using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Sprint.Suite;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.Answers;
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
        var aggregation = new Option<string>("--aggregation") { Description = "verified (the vote among candidates whose written steps hold), weighted (verified, each vote weighing the learned verifier's score) or majority", DefaultValueFactory = _ => "verified" };
        var adaptive = new Option<string?>("--adaptive")
        {
            Description = "Start candidates in waves while the answer is undecided: INITIAL:WAVE:AGREE, or INITIAL:WAVE:wMARGIN to decide on the learned verifier's scores (default 2:6:1 when given without a value)",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => null,
            CustomParser = r => r.Tokens.Count == 0 ? Answers.AdaptivePolicy.Default.ToString() : r.Tokens[0].Value,
        };
        var topK = new Option<int?>("--top-k") { Description = "Top-k of sampled candidates (0: off; default 40 for sprint, off otherwise)" };
        var topP = new Option<float?>("--top-p") { Description = "Top-p of sampled candidates (1: off; default 0.95 for sprint, off otherwise)" };
        var system = new Option<string?>("--system") { Description = "System prompt for every candidate (default: the generators' own; none for the shipped model, which was trained without one)" };
        var rejection = new Option<string?>("--rejection")
        {
            Description = "Verify while decoding: none, stop (a candidate at its first failed step) or replace (and start the plan's next in its place, up to 2n; the default); a suffix ! stops every failed candidate, ~ keeps the last one free of a failed step, xK caps replace at K × n",
        };
        var requireHeads = new Option<bool>("--require-selected-heads") { Description = "sprint and global_top: fail when the embedding service or the head selector cannot answer, instead of falling back to sampling" };
        var plain = new Option<bool>("--plain") { Description = "Plain lines instead of the live table (automatic when output is redirected)" };
        var web = new Option<int?>("--web")
        {
            Description = "Also serve the Solve page on this HTTP/1.1 port (default 8080 when given without a value), print its address with the question filled in, and keep serving after the answer until Ctrl+C",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => null,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return 8080;
                if (int.TryParse(r.Tokens[0].Value, out int port) && port is > 0 and < 65536) return port;
                r.AddError($"--web takes a port number, got '{r.Tokens[0].Value}' (put the question before --web)");
                return null;
            },
        };
        var model = ServeCommand.ModelOption();
        var selector = ServeCommand.SelectorOption();
        var redis = ServeCommand.RedisOption();
        var client = new ClientChannel();
        var command = new Command("solve", "Solve a question best-of-N through the gRPC suite, streaming every candidate and the verdict")
        {
            question, n, strategy, gateway, maxNew, temperature, seed, aggregation, adaptive, rejection, topK, topP, system, requireHeads, plain, web, model, selector, redis,
        };
        client.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            SolveRequest request;
            try
            {
                request = new SolveRequest
                {
                    Question = parse.GetValue(question)!, N = parse.GetValue(n), Strategy = StrategyNames.Parse(parse.GetValue(strategy)!, "--strategy").ToProto(),
                    MaxNewTokens = parse.GetValue(maxNew), Aggregation = Answers.Vote.Parse(parse.GetValue(aggregation)!, "--aggregation").ToProto(),
                    RequireSelectedHeads = parse.GetValue(requireHeads),
                };
                if (parse.GetValue(adaptive) is { } policy) request.Adaptive = Answers.AdaptivePolicy.Parse(policy).ToProto();
                if (parse.GetValue(rejection) is { } reject)
                {
                    var r = Answers.RejectionPolicy.Parse(reject, "--rejection");
                    request.Rejection = r.ToProto(r.Mode == Answers.Rejection.Replace && r.CapFactor != RejectionDefaults.CapFactor ? r.Cap(request.N == 0 ? Defaults.N : request.N) : 0);   // 0: the gateway's 2n
                }
                if (parse.GetValue(topP) is { } p) request.TopP = p;
                if (parse.GetValue(topK) is { } k) request.TopK = k;
                if (parse.GetValue(system) is { } sys) request.SystemPrompt = sys;
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }
            if (parse.GetValue(web) is not null && parse.GetValue(gateway) is not null)
            {
                error.WriteLine("error: --web serves the page from the suite in this process; without --gateway, or open the gateway's own page");
                return 2;
            }
            await using var suite = parse.GetValue(gateway) is null
                ? await StartSuiteAsync(parse.GetValue(model)!, parse.GetValue(selector), parse.GetValue(redis), parse.GetValue(web), error, ct)
                : null;
            if (parse.GetValue(gateway) is null && suite is null) return 1;
            if (suite?.WebAddress() is { } page)
                output.WriteLine($"Solve page: {page}/?question={Uri.EscapeDataString(request.Question)}&n={request.N}&strategy={parse.GetValue(strategy)}");
            var address = parse.GetValue(gateway) ?? suite!.GrpcAddress();
            using var channel = client.Create(parse, address);

            if (parse.GetValue(temperature) is { } t) request.Temperature = t;
            if (parse.GetValue(seed) is { } s) request.Seed = s;
            ISolveView view = parse.GetValue(plain) || Console.IsOutputRedirected || output != Console.Out ? new PlainSolveView(output) : new LiveSolveView();
            try
            {
                using (var call = new GatewayService.GatewayServiceClient(channel).Solve(request, cancellationToken: ct))
                    await view.RunAsync(call.ResponseStream.ReadAllAsync(ct));
                if (suite?.WebAddress() is not null)
                {
                    output.WriteLine("serving the page until Ctrl+C");
                    await suite.WaitForShutdownAsync(ct);
                }
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
    static async Task<Microsoft.AspNetCore.Builder.WebApplication?> StartSuiteAsync(string modelDir, string? selector, string? redis, int? webPort,
        TextWriter error, CancellationToken ct)
    {
        var app = InProcessSuite.Build(0, modelDir, selector, redis, quiet: true, webPort is { } port ? [$"--Service:WebPort={port}"] : []);
        await app.StartAsync(ct);
        try
        {
            await InProcessSuite.WaitReadyAsync(app, TimeSpan.FromMinutes(5), ct);
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
