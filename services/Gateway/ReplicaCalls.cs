using Grpc.Core;
using Grpc.Net.Client.Configuration;

namespace Sprint.Gateway;

/// <summary>
/// How the gateway's calls to a service's replicas survive one replica going away (gRPC's service-config method
/// policies, applied by grpc-dotnet under <see cref="EjectingRoundRobinFactory"/>'s round robin):
/// <list type="bullet">
/// <item><see cref="Hedged"/>, for the idempotent unary calls (Embed, Select, SelectorInfo, Check, VerifierInfo,
/// ModelInfo): a second attempt goes to the next replica when the first fails UNAVAILABLE (killed, stopped,
/// still loading its model) or FAILED_PRECONDITION (a replica that refused its artifact, e.g. a selector for another
/// model; that replica is ejected for a while, <see cref="ReplicaStatusHandler"/>), or when the first has not answered
/// within the hedging delay (a frozen replica, which its kernel keeps accepting connections for); the first answer
/// wins and the others are cancelled. Three attempts at most. (grpc-dotnet starts the attempt after a non-fatal status
/// at the next hedging delay, not at once.)</item>
/// <item><see cref="Streams"/>, for GenerateGroup: a stream that fails UNAVAILABLE before any response is retried
/// (up to five picks, with backoff), since a replica that just died can take the first picks until its connection is
/// seen to fail; once a stream has answered, the gateway restarts its unfinished candidates itself
/// (<see cref="CandidateRunner"/>); SteerGroup the same.</item>
/// <item><see cref="Plain"/>, for the Verifier's Watch: no retry, no hedging (a bidirectional stream of one Solve; when it
/// breaks, the Solve goes on without stops, <see cref="RejectingRun"/>).</item>
/// </list>
/// </summary>
public static class ReplicaCalls
{
    /// <summary>
    /// Attempts of a hedged call: the first and up to two more, each on the next replica of the round robin (with two
    /// replicas, at least one other; a third covers a pick that landed on the same replica while the other connected).
    /// </summary>
    public const int HedgedAttempts = 3;

    /// <summary>
    /// The hedging policy for every method of the channel, or for the named <paramref name="method"/> of
    /// <paramref name="service"/> only.
    /// </summary>
    public static MethodConfig Hedged(TimeSpan delay, string? method = null, string? service = null) => new()
    {
        Names = { method is null ? MethodName.Default : new MethodName { Service = service, Method = method } },
        HedgingPolicy = new HedgingPolicy
        {
            MaxAttempts = HedgedAttempts,
            HedgingDelay = delay,
            NonFatalStatusCodes = { StatusCode.Unavailable, StatusCode.FailedPrecondition },
        },
    };

    /// <summary>No policy for <paramref name="method"/> of <paramref name="service"/>: its calls are made once.</summary>
    public static MethodConfig Plain(string method, string service) => new() { Names = { new MethodName { Service = service, Method = method } } };

    /// <summary>The retry policy of GenerateGroup (and any other generator method not configured otherwise).</summary>
    public static MethodConfig Streams => new()
    {
        Names = { MethodName.Default },
        RetryPolicy = new RetryPolicy
        {
            // Up to 5 picks (grpc-dotnet's cap): a replica that just died can take the first picks until the
            // balancer sees its connection fail and leaves it out.
            MaxAttempts = 5,
            InitialBackoff = TimeSpan.FromMilliseconds(100),
            MaxBackoff = TimeSpan.FromSeconds(1),
            BackoffMultiplier = 2,
            RetryableStatusCodes = { StatusCode.Unavailable },
        },
    };

    /// <summary>
    /// A service's replica addresses from its one setting: "http://host:port", several separated by commas, or one
    /// "dns:///name:port"; empty when unset (this process).
    /// </summary>
    public static IReadOnlyList<string> Split(string? setting) =>
        (setting ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
