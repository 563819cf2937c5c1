namespace Sprint.Core;

/// <summary>
/// The defaults a client gets when it leaves a field unset, written once: the gateway, the generator, the CLI and
/// the offline evaluator all read them from here.
/// </summary>
public static class Defaults
{
    /// <summary>Candidates per question.</summary>
    public const int N = 8;
    /// <summary>New tokens per candidate.</summary>
    public const int MaxNewTokens = 256;
    /// <summary>Temperature of the "sampling" strategy (the other strategies decode greedily unless told otherwise).</summary>
    public const double SamplingTemperature = 0.7;
}
