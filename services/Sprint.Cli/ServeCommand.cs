using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Sprint.Suite;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary><c>sprint serve</c>: Embedding, HeadSelector, Generator, Verifier and Gateway in one process on one port.</summary>
static class ServeCommand
{
    public static Option<string> ModelOption() => new("--model")
    {
        Description = "Model folder for the Generator and the Embedding service (default: the shipped models/sprint-tiny-math)",
        DefaultValueFactory = _ => InProcessSuite.DefaultModel(),
    };

    public static Option<string?> SelectorOption() => new("--selector") { Description = "Selector artifact (default: MODEL/selector.safetensors)" };

    public static Option<string?> RedisOption() => new("--redis") { Description = "Redis for the embedding cache, e.g. 127.0.0.1:6379 (default: in-process cache)" };

    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "gRPC port on 127.0.0.1 (h2c)", DefaultValueFactory = _ => 5000 };
        var webPort = new Option<int>("--web-port") { Description = "HTTP/1.1 port for the Solve page and gRPC-Web (0: none)", DefaultValueFactory = _ => 8080 };
        var model = ModelOption();
        var selector = SelectorOption();
        var redis = RedisOption();
        var loadFormat = CommonOptions.LoadFormat();
        var command = new Command("serve", "Host all five gRPC services on one loopback port (extra --Section:Key=value settings pass through)")
        {
            port, webPort, model, selector, redis, loadFormat,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, ct) =>
        {
            var modelDir = parse.GetValue(model)!;
            var format = parse.GetValue(loadFormat)!;
            Microsoft.AspNetCore.Builder.WebApplication built;
            try
            {
                built = InProcessSuite.Build(parse.GetValue(port), modelDir, parse.GetValue(selector), parse.GetValue(redis), quiet: false,
                    [$"--Generator:LoadFormat={format}", $"--Embedding:LoadFormat={format}", $"--Service:WebPort={parse.GetValue(webPort)}", .. parse.UnmatchedTokens]);
            }
            catch (SettingsException e)   // e.g. a non-loopback --Service:Host without authentication
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            await using var app = built;
            await app.StartAsync(ct);
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"serving sprint.v1 Gateway, Generator, Embedding, HeadSelector, Verifier on {app.GrpcAddress()}");
            if (app.WebAddress() is { } web)
            {
                output.WriteLine($"Solve page, gRPC-Web and HTTP/JSON on {web}/ (e.g. POST {web}/v1/solve; OpenAPI: {web}{HttpJson.OpenApiPath})");
                output.WriteLine($"OpenAI-compatible API: base URL {web}/v1 (POST {web}{Gateway.OpenAi.OpenAiEndpoints.ChatPath}, GET {web}{Gateway.OpenAi.OpenAiEndpoints.ModelsPath})");
            }
            await app.WaitForShutdownAsync(ct);   // SIGTERM or Ctrl+C (the host's console lifetime), or the command's cancellation
            return 0;
        });
        return command;
    }
}
