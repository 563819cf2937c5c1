using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Maps the domain's typed errors to statuses: <see cref="Core.InvalidFieldException"/> (and any other
/// <see cref="ArgumentException"/>) becomes INVALID_ARGUMENT with its "field: why" message,
/// <see cref="Core.FailedPreconditionException"/> FAILED_PRECONDITION, a
/// cancelled call CANCELLED, anything else INTERNAL (logged) — never a dropped connection.
/// </summary>
public sealed class ErrorInterceptor(ILogger<ErrorInterceptor> log) : Interceptor
{
    /// <summary>Trailers carrying an INVALID_ARGUMENT's field and reason, so a caller (the gateway) need not parse the message.</summary>
    public const string FieldTrailer = "sprint-invalid-field";
    public const string ReasonTrailer = "sprint-invalid-reason-bin";

    /// <summary>The field and reason a Sprint service put in an INVALID_ARGUMENT's trailers; null when there are none.</summary>
    public static Core.InvalidFieldException? InvalidField(RpcException e) =>
        e.StatusCode == StatusCode.InvalidArgument && e.Trailers.GetValue(FieldTrailer) is { Length: > 0 } field
            ? new Core.InvalidFieldException(field, System.Text.Encoding.UTF8.GetString(e.Trailers.GetValueBytes(ReasonTrailer) ?? []))
            : null;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try { return await continuation(request, context).ConfigureAwait(false); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(request, responseStream, context).ConfigureAwait(false); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    /// <summary>SteerGroup, Watch: a refused message names its field as a unary call's would.</summary>
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try { await continuation(requestStream, responseStream, context).ConfigureAwait(false); }
        catch (Exception e) when (e is not RpcException) { throw Map(e, context); }
    }

    RpcException Map(Exception e, ServerCallContext context)
    {
        if (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
            return new RpcException(new Status(context.Deadline <= DateTime.UtcNow ? StatusCode.DeadlineExceeded : StatusCode.Cancelled, "call ended by the client"));
        if (e is Core.InvalidFieldException f)
            return new RpcException(new Status(StatusCode.InvalidArgument, f.Message),
                new Metadata { { FieldTrailer, f.Field }, { ReasonTrailer, System.Text.Encoding.UTF8.GetBytes(f.Why) } });
        if (e is Core.FailedPreconditionException p) return new RpcException(new Status(StatusCode.FailedPrecondition, p.Message));
        log.LogError(e, "{Method} failed", context.Method);
        return new RpcException(new Status(StatusCode.Internal, $"{context.Method} failed; the service logged why under trace id {System.Diagnostics.Activity.Current?.TraceId.ToString() ?? "(none)"}"));
    }
}
