using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Sprint.ServiceDefaults;

/// <summary>
/// A gRPC status written by middleware that refuses a call before it reaches gRPC (authentication, authorization,
/// rate limits). To a gRPC or gRPC-Web call: a trailers-only response (HTTP 200, grpc-status and grpc-message in the
/// headers) — a bare HTTP 401, 403 or 429 would reach clients as a guess (429 becomes UNAVAILABLE, which clients retry
/// at once). To an HTTP/JSON call (<see cref="HttpJson"/>): the HTTP status and the JSON body gRPC JSON transcoding
/// writes for the same status (<c>{"code", "message", "details"}</c>).
/// </summary>
public static class GrpcStatusResponse
{
    public static async Task WriteAsync(HttpContext http, StatusCode code, string message, TimeSpan? retryAfter = null)
    {
        var response = http.Response;
        if (response.HasStarted) return;
        if (retryAfter is { } wait)
        {
            // gRPC's retry pushback (honoured by clients with a retry policy) and HTTP's Retry-After.
            response.Headers["grpc-retry-pushback-ms"] = ((long)wait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        string? contentType = http.Request.ContentType;
        if (contentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            response.StatusCode = code switch
            {
                StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
                StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
                StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
                StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
                _ => StatusCodes.Status500InternalServerError,
            };
            await response.WriteAsJsonAsync(new { code = (int)code, message, details = Array.Empty<object>() });
            return;
        }
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase) ? contentType : "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }
}
