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
    /// <summary>Temperature of the "sampling" strategy.</summary>
    public const double SamplingTemperature = 0.7;

    /// <summary>
    /// How "sprint" decodes its pruned candidates unless told otherwise: the paper's authors' sampling (temperature
    /// 0.9, top-k 40, top-p 0.95). With the verified vote it beats decoding them greedily (EVAL.md: 56.1 % against
    /// 54.9 % at N = 8, 59.3 % against 56.5 % at N = 16); random_heads and global_top decode greedily.
    /// </summary>
    public const double SprintTemperature = 0.9;
    public const int SprintTopK = 40;
    public const double SprintTopP = 0.95;
}
