using System.Diagnostics;
using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.AspNetCore.Http.HttpResults;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway.OpenAi;

/// <summary>
/// OpenAI's Chat Completions API on the gateway's HTTP ports, so that any OpenAI SDK (and what is built on them) calls
/// SPRINT by changing its base URL: <c>POST /v1/chat/completions</c> (best_of candidates, the n best as choices with
/// the verdict's answer first; streamed as server-sent events with ASP.NET Core's own
/// <see cref="TypedResults.ServerSentEvents(IAsyncEnumerable{string}, string?)"/>)
/// and <c>GET /v1/models</c>. Each request is one Solve of the in-process <see cref="Solver"/> — the same
/// authentication (<c>Authorization: Bearer KEY</c>, the gateway's policy), rate limits, token budget, metrics and
/// traces as gRPC — with errors in OpenAI's shape (<see cref="OpenAiError"/>). Where OpenAI is silent, vLLM's
/// OpenAI-compatible server is followed (extra body fields, an error event before <c>[DONE]</c> when a stream fails).
/// </summary>
public static class OpenAiEndpoints
{
    public const string ChatPath = "/v1/chat/completions", ModelsPath = "/v1/models";
    static readonly long Started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static WebApplication MapOpenAi(this WebApplication app)
    {
        bool auth = app.Services.GetRequiredService<AuthOptions>().Enabled;
        // Routing answers a body that is not JSON with a bare 415 (the route accepts application/json): in OpenAI's shape.
        app.Use(async (context, next) =>
        {
            await next(context);
            if (context.Response.StatusCode == StatusCodes.Status415UnsupportedMediaType && !context.Response.HasStarted && context.Request.Path.Equals(ChatPath))
                await new OpenAiError(StatusCodes.Status415UnsupportedMediaType,
                    $"the body must be JSON (content-type: application/json), got {Quote.Short(context.Request.ContentType ?? "none")}", "invalid_request_error").WriteAsync(context);
        });
        var chat = app.MapPost(ChatPath, ChatAsync)
            .WithName("openai.chat.completions.create").WithTags("OpenAI-compatible")
            .WithSummary("OpenAI Chat Completions: n candidates of one Solve as n choices; stream: true for server-sent events")
            .Accepts<ChatRequest>("application/json")
            .Produces<JsonObject>(StatusCodes.Status200OK, "application/json", "text/event-stream")
            .Produces<JsonObject>(StatusCodes.Status400BadRequest).Produces<JsonObject>(StatusCodes.Status404NotFound)
            .Produces<JsonObject>(StatusCodes.Status429TooManyRequests).Produces<JsonObject>(StatusCodes.Status503ServiceUnavailable)
            .WithMetadata(OpenAiRefusals.Instance);
        var models = app.MapGet(ModelsPath, ModelsAsync)
            .WithName("openai.models.list").WithTags("OpenAI-compatible").WithSummary("The served model, as OpenAI's model list")
            .WithMetadata(OpenAiRefusals.Instance);
        var model = app.MapGet(ModelsPath + "/{id}", ModelAsync)
            .WithName("openai.models.retrieve").WithTags("OpenAI-compatible").WithSummary("The served model by id; 404 for any other")
            .WithMetadata(OpenAiRefusals.Instance);
        if (auth)
            foreach (var route in new[] { chat, models, model }) route.RequireAuthorization(SprintServiceHost.PolicyFor("gateway"));
        return app;
    }

    static async Task ModelsAsync(HttpContext http, Upstreams upstreams) => await Answer(http, async () =>
    {
        var info = await ServedModel(http, upstreams).ConfigureAwait(false);
        await http.Response.WriteAsJsonAsync(new JsonObject { ["object"] = "list", ["data"] = new JsonArray(Model(info.ModelId)) });
    });

    static async Task ModelAsync(HttpContext http, string id, Upstreams upstreams) => await Answer(http, async () =>
    {
        var info = await ServedModel(http, upstreams).ConfigureAwait(false);
        if (id != info.ModelId) throw new OpenAiException(OpenAiError.UnknownModel(id, info.ModelId));
        await http.Response.WriteAsJsonAsync(Model(info.ModelId));
    });

    /// <summary>The generators' model; a generator that cannot be reached is a 503 that names no internal host.</summary>
    static async Task<ModelInfoResponse> ServedModel(HttpContext http, Upstreams upstreams)
    {
        try { return await upstreams.ModelInfoAsync(http.RequestAborted).ConfigureAwait(false); }
        catch (RpcException e)
        {
            throw new OpenAiException(OpenAiError.From(UpstreamFailures.ForCallers(e, Log(http), "generator"), f => f));
        }
    }

    static JsonObject Model(string id) => new() { ["id"] = id, ["object"] = "model", ["created"] = Started, ["owned_by"] = "sprint" };

    static async Task ChatAsync(HttpContext http, Solver solver, Upstreams upstreams, GatewayOptions options) => await Answer(http, async () =>
    {
        var ct = http.RequestAborted;
        long limit = HttpJson.LimitBody(http);
        ChatRequest body;
        try { body = await ChatRequest.ReadAsync(http.Request.Body, ct).ConfigureAwait(false); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new OpenAiException(new OpenAiError(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {limit} bytes", "invalid_request_error", null, "request_too_large"));
        }
        var request = body.ToSolveRequest(options.DefaultN);
        string served = (await ServedModel(http, upstreams).ConfigureAwait(false)).ModelId;
        if (body.Model != served) throw new OpenAiException(OpenAiError.UnknownModel(body.Model!, served));

        string id = "chatcmpl-" + (Activity.Current?.TraceId.ToHexString() ?? Guid.NewGuid().ToString("N"));   // the trace id: one grep joins the two
        var completion = new ChatCompletion(id, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), served, body.StreamOptions?.IncludeUsage == true,
            body.CandidatesAsChoices == true ? null : body.Choices);
        await using var events = solver.SolveAsync(request, http, DateTime.MaxValue, ct).GetAsyncEnumerator(ct);
        try
        {
            // The plan, or the refusal, before anything is written: a bad field or a spent budget is a status, not a stream.
            if (!await events.MoveNextAsync().ConfigureAwait(false)) throw new InvalidOperationException("the Solve ended before its plan");
        }
        catch (Exception e) when (Refusal(e, body) is { } error) { throw new OpenAiException(error); }
        var first = completion.Add(events.Current);
        if (body.Stream == true)
        {
            await TypedResults.ServerSentEvents(Stream(completion, first, events, body, ct)).ExecuteAsync(http).ConfigureAwait(false);
            return;
        }
        try
        {
            while (await events.MoveNextAsync().ConfigureAwait(false)) completion.Add(events.Current);
        }
        catch (Exception e) when (Refusal(e, body) is { } error) { throw new OpenAiException(error); }
        await http.Response.WriteAsJsonAsync(completion.Completion(), ct).ConfigureAwait(false);
    });

    /// <summary>The chunks: the plan's, one per event, an error event if the Solve fails part-way, the usage chunk if asked, then [DONE].</summary>
    static async IAsyncEnumerable<string> Stream(ChatCompletion completion, List<JsonObject> first, IAsyncEnumerator<SolveResponse> events, ChatRequest body,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var chunk in first) yield return chunk.ToJsonString();
        while (true)
        {
            List<JsonObject> chunks = [];
            OpenAiError? failed = null;
            try
            {
                if (!await events.MoveNextAsync().ConfigureAwait(false)) break;
                chunks = completion.Add(events.Current);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && Refusal(e, body) is { } error) { failed = error; }
            if (failed is not null)
            {
                yield return failed.ToJson().ToJsonString();   // as vLLM does: the error as an event, then [DONE]
                break;
            }
            foreach (var chunk in chunks) yield return chunk.ToJsonString();
        }
        if (body.StreamOptions?.IncludeUsage == true) yield return completion.UsageChunk().ToJsonString();
        yield return "[DONE]";
    }

    /// <summary>What a failed Solve says in OpenAI's terms; null for what is not a refusal (a bug: logged, 500).</summary>
    static OpenAiError? Refusal(Exception e, ChatRequest body)
    {
        string Rename(string field) => field switch
        {
            "max_new_tokens" => body.MaxTokensParam,
            "n" => "best_of",   // the Solve's n is the candidates
            "question" => "messages",
            "system_prompt" => "messages",
            _ => field,
        };
        return e switch
        {
            OpenAiException o => o.Error,
            InvalidFieldException f => OpenAiError.Invalid(Rename(f.Field), f.Message.Replace(f.Field + ":",
                (f.Field == "system_prompt" ? "messages (the system and developer messages, together)" : Rename(f.Field)) + ":", StringComparison.Ordinal)),
            FailedPreconditionException p => OpenAiError.From(StatusCode.FailedPrecondition, p.Message, (null, null), Rename),
            RpcException r => OpenAiError.From(r, Rename),   // the Solver's statuses are already written for callers
            _ => null,
        };
    }

    static ILogger Log(HttpContext http) => http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OpenAiEndpoints).FullName!);

    /// <summary>Runs a route: its refusals answered in OpenAI's shape; one log line per request (route, status, duration, caller), as the gRPC call log.</summary>
    static async Task Answer(HttpContext http, Func<Task> route)
    {
        long start = Stopwatch.GetTimestamp();
        var log = Log(http);
        try { await route().ConfigureAwait(false); }
        catch (OpenAiException e) { await e.Error.WriteAsync(http).ConfigureAwait(false); }
        catch (Exception e) when (http.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException) { }   // the caller hung up
        catch (Exception e) when (!http.Response.HasStarted)
        {
            log.LogError(e, "{Method} {Path} failed", http.Request.Method, http.Request.Path);
            await new OpenAiError(StatusCodes.Status500InternalServerError,
                $"the request failed; the service logged why under trace id {Activity.Current?.TraceId.ToString() ?? "(none)"}", "server_error").WriteAsync(http).ConfigureAwait(false);
        }
        finally
        {
            log.LogInformation("{Method} {Path} {Status} {ElapsedMs:F0} ms {Caller}", http.Request.Method, http.Request.Path, http.Response.StatusCode,
                Stopwatch.GetElapsedTime(start).TotalMilliseconds, SprintClaims.Caller(http.User) ?? "peer:" + http.Connection.RemoteIpAddress);
        }
    }
}
