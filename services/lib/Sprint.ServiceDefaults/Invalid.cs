using Grpc.Core;

namespace Sprint.ServiceDefaults;

/// <summary>
/// The statuses for overload and unreadiness. Bad input is not here: the type that owns a rule throws
/// <see cref="Core.InvalidFieldException"/> and <see cref="ErrorInterceptor"/> maps it.
/// </summary>
public static class Invalid
{
    public static RpcException Loading(string what) => new(new Status(StatusCode.Unavailable, $"{what} is still loading; retry shortly"));

    public static RpcException Exhausted(string why) => new(new Status(StatusCode.ResourceExhausted, why));
}
