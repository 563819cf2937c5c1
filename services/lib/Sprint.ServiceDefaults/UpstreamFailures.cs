using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// What a caller learns of an upstream call that failed. A status the upstream service sent is its own, already
/// written for callers, and passes through. A status grpc-dotnet made on this side (the connection failed or was
/// refused: <see cref="Status.DebugException"/> is set) names internal hosts and ports in its detail: the caller gets
/// its code, which service (e.g. "generator: unreachable (trace …)") and the trace id; the log gets the rest.
/// </summary>
public static class UpstreamFailures
{
    public static RpcException ForCallers(RpcException e, ILogger log, string what)
    {
        if (e.Status.DebugException is null) return e;
        log.LogWarning(e.Status.DebugException, "{What}: {Status} {Detail}", what, e.StatusCode, e.Status.Detail);
        return new RpcException(new Status(e.StatusCode,
            $"{what}: unreachable (trace {Activity.Current?.TraceId.ToString() ?? "none"})"), e.Trailers);
    }
}
