using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// One log line per call, at its end: method, status and duration (never the request's content). The framework's
/// own per-request lines (four per call) are filtered to warnings in <see cref="SprintServiceHost.AddLogging"/>.
/// Outermost interceptor: it sees the status <see cref="ErrorInterceptor"/> mapped.
/// </summary>
public sealed class CallLogInterceptor(ILogger<CallLogInterceptor> log) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            var response = await continuation(request, context).ConfigureAwait(false);
            Log(context, StatusCode.OK, start);
            return response;
        }
        catch (RpcException e) { Log(context, e.StatusCode, start); throw; }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
            Log(context, StatusCode.OK, start);
        }
        catch (RpcException e) { Log(context, e.StatusCode, start); throw; }
    }

    void Log(ServerCallContext context, StatusCode status, long start) =>
        log.LogInformation("{Method} {Status} {ElapsedMs:F0} ms {Peer}", context.Method, status, Stopwatch.GetElapsedTime(start).TotalMilliseconds, context.Peer);
}
