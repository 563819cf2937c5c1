using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Each call observed at its end: one log line (method, status, duration, peer; never the request's content) and the
/// OpenTelemetry <c>rpc.server.duration</c> histogram (rpc.system, rpc.service, rpc.method, rpc.grpc.status_code).
/// The framework's own per-request lines (four per call) are filtered to warnings in
/// <see cref="SprintServiceHost.AddLogging"/>. Outermost interceptor: it sees the status <see cref="ErrorInterceptor"/> mapped.
/// </summary>
public sealed class CallLogInterceptor(ILogger<CallLogInterceptor> log, ServiceMetrics metrics) : Interceptor
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

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
            Log(context, StatusCode.OK, start);
        }
        catch (RpcException e) { Log(context, e.StatusCode, start); throw; }
    }

    void Log(ServerCallContext context, StatusCode status, long start)
    {
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        log.LogInformation("{Method} {Status} {ElapsedMs:F0} ms {Peer}", context.Method, status, ms, context.Peer);
        var parts = context.Method.Split('/', StringSplitOptions.RemoveEmptyEntries);   // "/package.Service/Method"
        metrics.RpcDuration.Record(ms, new("rpc.system", "grpc"), new("rpc.service", parts.ElementAtOrDefault(0)), new("rpc.method", parts.ElementAtOrDefault(1)),
            new("rpc.grpc.status_code", (int)status));
    }
}
