using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.OpenApi.Models;

namespace Sprint.ServiceDefaults;

/// <summary>
/// HTTP/JSON next to gRPC: every RPC with a <c>google.api.http</c> rule in protos/ is also served as JSON over HTTP/1.1
/// and HTTP/2 (gRPC JSON transcoding: the same service class, interceptors, authorization and rate limits), a streamed
/// RPC as one JSON object per line; and the OpenAPI document of those routes at <see cref="OpenApiPath"/>, with the
/// protos' comments, plus Swagger UI at <c>/swagger</c>. Plain curl reaches them on Service:WebPort (HTTP/1.1).
/// Transcoding itself is registered with gRPC in <see cref="SprintServiceHost.AddGrpcDefaults"/>; this adds the document.
/// </summary>
public static class HttpJson
{
    /// <summary>Where the OpenAPI document of the process's HTTP/JSON routes is served.</summary>
    public const string OpenApiPath = "/openapi/v1.json";

    public static WebApplicationBuilder AddHttpJson(this WebApplicationBuilder builder)
    {
        builder.Services.AddGrpcSwagger();
        builder.Services.AddEndpointsApiExplorer();   // minimal-API routes too (the gateway's OpenAI-compatible ones)
        ParsedRequests.ReplaceBinder(builder.Services);   // AddGrpcSwagger calls AddGrpc(), which brings grpc-dotnet's binder back
        builder.Services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Sprint",
                Version = "v1",
                Description = "SPRINT best-of-N math reasoning: the gRPC services' routes as HTTP/JSON (protos/sprint/v1). " +
                              "Streamed responses are JSON objects, one per line.",
            });
            // The protos' comments, which Grpc.Tools writes into Sprint.Contracts' XML documentation.
            var comments = Path.Combine(AppContext.BaseDirectory, "Sprint.Contracts.xml");
            if (File.Exists(comments))
            {
                swagger.IncludeXmlComments(comments);   // messages and fields
                swagger.IncludeGrpcXmlComments(comments, includeControllerXmlComments: true);   // services and methods
            }
            // Other Sprint assemblies' own HTTP types (the gateway's OpenAI-compatible request).
            foreach (var other in Directory.EnumerateFiles(AppContext.BaseDirectory, "Sprint.*.xml").Where(f => f != comments))
                swagger.IncludeXmlComments(other);
            // "sprint.v1.GatewayService.Solve": the gRPC method, so generated clients name their calls as gRPC does.
            swagger.CustomOperationIds(api => api.ActionDescriptor.EndpointMetadata.OfType<Grpc.AspNetCore.Server.GrpcMethodMetadata>()
                .Select(m => m.Method.FullName.TrimStart('/').Replace('/', '.')).FirstOrDefault()
                ?? api.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Routing.IEndpointNameMetadata>().FirstOrDefault()?.EndpointName);
        });
        return builder;
    }

    /// <summary>
    /// Checks JSON request bodies field by field (<see cref="CheckJsonFields"/>) after authorization and rate limits,
    /// and, with Service:OpenApi (on for sprint serve, off by default and in the deploy files), maps the OpenAPI
    /// document and Swagger UI (open, as health is: they describe routes, not data).
    /// </summary>
    public static WebApplication MapHttpJson(this WebApplication app)
    {
        app.Use(CheckJsonFields);
        if (!app.Services.GetRequiredService<ServiceOptions>().OpenApi) return app;
        app.MapSwagger("/openapi/{documentName}.json");
        app.UseSwaggerUI(ui => ui.SwaggerEndpoint(OpenApiPath, "Sprint v1"));
        return app;
    }

    /// <summary>
    /// The largest JSON body an HTTP route reads, applied to this request (Kestrel then refuses more with 413): 4 ×
    /// Service:MaxReceiveMessageBytes, since JSON spells a message out.
    /// </summary>
    public static long LimitBody(HttpContext context)
    {
        long limit = 4L * context.RequestServices.GetRequiredService<ServiceOptions>().MaxReceiveMessageBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        return limit;
    }

    /// <summary>
    /// Transcoding answers a body that does not parse with a bare "Request JSON payload is not correctly formatted.",
    /// ignores unknown fields (a misspelt <c>max_tokens</c> would silently decode 256) and refuses some spellings the
    /// proto3 JSON mapping allows (an int32 as a string). So before it, a JSON body is read with protobuf's own JSON
    /// parser, unknown fields being errors: a body that fails is answered 400 INVALID_ARGUMENT naming the field, as
    /// the services name theirs (<c>n: …</c>, <c>bogus: not a field of SolveRequest</c>, <c>request: the body is not
    /// valid JSON (line 1, byte 17)</c>); one that parses reaches transcoding re-written in the canonical mapping. The
    /// body is kept to 4 × Service:MaxReceiveMessageBytes (JSON spells a message out).
    /// </summary>
    static async Task CheckJsonFields(HttpContext context, RequestDelegate next)
    {
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>()?.MethodDescriptor;
        if (method is null || HttpMethods.IsGet(context.Request.Method))
        {
            await next(context);
            return;
        }
        if (!context.Request.HasJsonContentType())
        {
            await Refuse(context, method, $"request: the body must be JSON (content-type: application/json), got {Core.Quote.Short(context.Request.ContentType ?? "none")}");
            return;
        }
        long limit = LimitBody(context);
        string? problem = null;
        IMessage? request = null;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            request = Parse(body.RootElement, method.InputType, out problem);
        }
        catch (JsonException e) { problem = $"request: the body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})"; }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            problem = $"request: the body is larger than {limit} bytes";
        }
        if (request is not null)
        {
            var canonical = System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(request));
            context.Request.Body = new MemoryStream(canonical);
            context.Request.ContentLength = canonical.Length;
            context.Request.ContentType = "application/json; charset=utf-8";
            await next(context);
            return;
        }
        await Refuse(context, method, problem!);
    }

    /// <summary>400 INVALID_ARGUMENT naming the field, and the one log line a call gets (the call never reaches the interceptors).</summary>
    static Task Refuse(HttpContext context, MethodDescriptor method, string problem)
    {
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(HttpJson))
            .LogInformation("/{Service}/{Method} (HTTP/JSON) InvalidArgument: {Problem}", method.Service.FullName, method.Name, problem);
        return GrpcStatusResponse.WriteAsync(context, Grpc.Core.StatusCode.InvalidArgument, problem);
    }

    static readonly JsonParser StrictParser = new(JsonParser.Settings.Default);   // unknown fields are errors

    /// <summary>
    /// <paramref name="body"/> as a <paramref name="message"/>, or null with "field: why" for the first field that is
    /// not valid on its own (each is parsed alone to find it; nested messages by their path, e.g.
    /// <c>stopping.max_new_tokens</c>, <c>pruned_heads[1].layer</c>).
    /// </summary>
    static IMessage? Parse(JsonElement body, MessageDescriptor message, out string? problem)
    {
        problem = body.ValueKind == JsonValueKind.Object
            ? FirstBadField(body, message, "")
            : $"request: the body must be a JSON object ({message.Name}), got {body.ValueKind}";
        if (problem is not null) return null;
        try { return StrictParser.Parse(body.GetRawText(), message); }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException)
        {
            problem = $"request: {Core.Quote.Short(e.Message)}";   // e.g. a field given twice, once by each of its names
            return null;
        }
    }

    static string? FirstBadField(JsonElement json, MessageDescriptor message, string path)
    {
        foreach (var property in json.EnumerateObject())
        {
            var field = message.FindFieldByName(property.Name) ?? message.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == property.Name);
            if (field is null) return $"{path}{Core.Quote.Short(property.Name)}: not a field of {message.Name}";
            string name = path + field.Name;
            bool nested = field.FieldType == FieldType.Message && !field.IsMap && field.MessageType.File.Package != "google.protobuf";
            if (nested && !field.IsRepeated && property.Value.ValueKind == JsonValueKind.Object)
            {
                if (FirstBadField(property.Value, field.MessageType, name + ".") is { } inner) return inner;
                continue;
            }
            if (nested && field.IsRepeated && property.Value.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (var item in property.Value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && FirstBadField(item, field.MessageType, $"{name}[{i}].") is { } inner) return inner;
                    i++;
                }
            }
            if (Rejects($"{{{JsonSerializer.Serialize(property.Name)}:{property.Value.GetRawText()}}}", message) is { } why) return $"{name}: {why}";
        }
        return null;
    }

    static string? Rejects(string json, MessageDescriptor message)
    {
        try { StrictParser.Parse(json, message); return null; }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException) { return Core.Quote.Short(e.Message); }
    }
}
