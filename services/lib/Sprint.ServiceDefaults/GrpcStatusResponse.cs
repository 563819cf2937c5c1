using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Sprint.ServiceDefaults;

/// <summary>
/// A gRPC status written by middleware that refuses a call before it reaches gRPC (authentication, authorization,
/// rate limits): a trailers-only response (HTTP 200, grpc-status and grpc-message in the headers). A bare HTTP 401,
/// 403 or 429 would reach clients as a guess (429 becomes UNAVAILABLE, which clients retry at once).
/// </summary>
public static class GrpcStatusResponse
{
    public static Task WriteAsync(HttpContext http, StatusCode code, string message, TimeSpan? retryAfter = null)
    {
        var response = http.Response;
        if (response.HasStarted) return Task.CompletedTask;
        response.StatusCode = StatusCodes.Status200OK;
        string? contentType = http.Request.ContentType;
        response.ContentType = contentType?.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase) == true ? contentType : "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        if (retryAfter is { } wait)
        {
            // gRPC's retry pushback (honoured by clients with a retry policy) and HTTP's Retry-After.
            response.Headers["grpc-retry-pushback-ms"] = ((long)wait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return Task.CompletedTask;
    }
}
