using Grpc.Core;

namespace Sprint.ServiceDefaults;

/// <summary>The statuses every service returns for bad input, overload and unreadiness.</summary>
public static class Invalid
{
    /// <summary>INVALID_ARGUMENT whose message starts with the offending field.</summary>
    public static RpcException Argument(string field, string why) => new(new Status(StatusCode.InvalidArgument, $"{field}: {why}"));

    public static RpcException Loading(string what) => new(new Status(StatusCode.Unavailable, $"{what} is still loading; retry shortly"));

    public static RpcException Exhausted(string why) => new(new Status(StatusCode.ResourceExhausted, why));
}
