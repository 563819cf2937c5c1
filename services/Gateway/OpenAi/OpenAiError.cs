using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway.OpenAi;

/// <summary>
/// An error in OpenAI's shape, <c>{"error": {"message", "type", "param", "code"}}</c>, with its HTTP status: 400
/// invalid_request_error naming the param, 401 invalid_api_key, 403 permission_denied, 404 model_not_found, 429
/// rate_limit_exceeded (with Retry-After), 503 when no generator can take the Solve, 500 otherwise.
/// </summary>
public sealed record OpenAiError(int Status, string Message, string Type, string? Param = null, string? Code = null, TimeSpan? RetryAfter = null)
{
    public static OpenAiError Invalid(string param, string message) => new(StatusCodes.Status400BadRequest, message, "invalid_request_error", param);

    public static OpenAiError UnknownModel(string model, string served) =>
        new(StatusCodes.Status404NotFound, $"The model {Core.Quote.Short(model)} does not exist; this server serves {Core.Quote.Short(served)} (GET /v1/models)",
            "invalid_request_error", "model", "model_not_found");

    /// <summary>
    /// A gRPC status from the Solve (or from the middleware before it) in OpenAI's terms. <paramref name="rename"/>
    /// turns a Solve field into the request's param (e.g. max_new_tokens into max_tokens).
    /// </summary>
    public static OpenAiError From(RpcException e, Func<string, string> rename) => From(e.StatusCode, e.Status.Detail,
        e is RateLimitRefusal limited ? (limited.RetryAfter, "tokens") : (null, null), rename,
        ErrorInterceptor.InvalidField(e)?.Field);

    public static OpenAiError From(StatusCode code, string message, (TimeSpan? Wait, string? Kind) limit, Func<string, string> rename, string? field = null) => code switch
    {
        StatusCode.InvalidArgument => Invalid(field is null ? "" : rename(field), message),
        StatusCode.FailedPrecondition => new(StatusCodes.Status400BadRequest, message, "invalid_request_error", "strategy", "strategy_unavailable"),
        StatusCode.Unauthenticated => new(StatusCodes.Status401Unauthorized, message, "invalid_request_error", null, "invalid_api_key"),
        StatusCode.PermissionDenied => new(StatusCodes.Status403Forbidden, message, "invalid_request_error", null, "permission_denied"),
        StatusCode.ResourceExhausted when limit.Kind is not null || message.StartsWith("rate limit", StringComparison.Ordinal) =>
            new(StatusCodes.Status429TooManyRequests, message, limit.Kind ?? "requests", null, "rate_limit_exceeded", limit.Wait),
        StatusCode.ResourceExhausted or StatusCode.Unavailable => new(StatusCodes.Status503ServiceUnavailable, message, "server_error", null, "service_unavailable"),
        StatusCode.DeadlineExceeded => new(StatusCodes.Status504GatewayTimeout, message, "server_error", null, "timeout"),
        _ => new(StatusCodes.Status500InternalServerError, message, "server_error"),
    };

    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject { ["message"] = Message, ["type"] = Type, ["param"] = Param, ["code"] = Code },
    };

    public async Task WriteAsync(HttpContext http)
    {
        if (http.Response.HasStarted) return;
        http.Response.StatusCode = Status;
        if (RetryAfter is { } wait) http.Response.Headers.RetryAfter = GrpcStatusResponse.RetryAfterSeconds(wait);
        await http.Response.WriteAsJsonAsync(ToJson());
    }
}

/// <summary>The OpenAI routes' refusals before they run (authentication, authorization, the rate limiter), in OpenAI's shape.</summary>
sealed class OpenAiRefusals : IRefusalWriter
{
    public static readonly OpenAiRefusals Instance = new();

    public Task WriteAsync(HttpContext http, StatusCode code, string message, TimeSpan? retryAfter) =>
        OpenAiError.From(code, message, (retryAfter, code == StatusCode.ResourceExhausted ? "requests" : null), f => f).WriteAsync(http);
}
