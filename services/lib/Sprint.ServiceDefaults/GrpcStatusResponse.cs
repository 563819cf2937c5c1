using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Endpoint metadata of a route whose API has its own error shape (the gateway's OpenAI-compatible routes): refusals
/// made before the route runs (authentication, authorization, rate limits) are written by it instead of as gRPC statuses.
/// </summary>
public interface IRefusalWriter
{
    Task WriteAsync(HttpContext http, StatusCode code, string message, TimeSpan? retryAfter);
}

/// <summary>
/// A gRPC status written by middleware that refuses a call before it reaches gRPC (authentication, authorization,
/// rate limits). To a gRPC or gRPC-Web call: a trailers-only response (HTTP 200, grpc-status and grpc-message in the
/// headers) — a bare HTTP 401, 403 or 429 would reach clients as a guess (429 becomes UNAVAILABLE, which clients retry
/// at once). To an HTTP/JSON call (<see cref="HttpJson"/>): the HTTP status and the JSON body gRPC JSON transcoding
/// writes for the same status (<c>{"code", "message", "details"}</c>).
/// </summary>
public static class GrpcStatusResponse
{
    /// <summary>gRPC's retry hint (a header or trailer, in milliseconds).</summary>
    public const string PushbackHeader = "grpc-retry-pushback-ms";

    public static string PushbackMs(TimeSpan wait) => ((long)wait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>HTTP's Retry-After: whole seconds, at least one.</summary>
    public static string RetryAfterSeconds(TimeSpan wait) => Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static async Task WriteAsync(HttpContext http, StatusCode code, string message, TimeSpan? retryAfter = null)
    {
        var response = http.Response;
        if (response.HasStarted) return;
        if (http.GetEndpoint()?.Metadata.GetMetadata<IRefusalWriter>() is { } own)
        {
            await own.WriteAsync(http, code, message, retryAfter);   // an API with an error shape of its own (OpenAI's)
            return;
        }
        if (retryAfter is { } wait)
        {
            // gRPC's retry pushback (honoured by clients with a retry policy) and HTTP's Retry-After.
            response.Headers[PushbackHeader] = PushbackMs(wait);
            response.Headers.RetryAfter = RetryAfterSeconds(wait);
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
        await DrainRequestAsync(http);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase) ? contentType : "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }

    /// <summary>
    /// Reads what the caller sends (its one message and half-close, for the unary and server-streaming RPCs here)
    /// before the refusal completes the response. Answering with the request body unread makes Kestrel reset the
    /// HTTP/2 stream (RST_STREAM NO_ERROR), and a .NET client still sending can then report CANCELLED instead of the
    /// status (dotnet/runtime#57617; seen once as CANCELLED for UNAUTHENTICATED in a loaded test run). Bounded: at most
    /// Service:MaxReceiveMessageBytes and 250 ms, so a streaming caller that keeps its request open is answered anyway.
    /// </summary>
    static async Task DrainRequestAsync(HttpContext http)
    {
        long limit = ((http.RequestServices.GetService(typeof(ServiceOptions)) as ServiceOptions) ?? new ServiceOptions()).MaxReceiveMessageBytes;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(250));
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            for (long read = 0; read <= limit;)
            {
                int n = await http.Request.Body.ReadAsync(buffer, timeout.Token);
                if (n == 0) return;
                read += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException) { }   // answered anyway
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
    }
}
