using Grpc.Core;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Work refused for the state the service is in, not for the request: still loading (UNAVAILABLE, retry shortly) or at
/// capacity (RESOURCE_EXHAUSTED). Bad input is not here: the type that owns a rule throws
/// <see cref="Core.InvalidFieldException"/> and <see cref="ErrorInterceptor"/> maps it.
/// </summary>
public static class Refusals
{
    public static RpcException Loading(string what) => new(new Status(StatusCode.Unavailable, $"{what} is still loading; retry shortly"));

    public static RpcException AtCapacity(string why) => new(new Status(StatusCode.ResourceExhausted, why));
}
