namespace Sprint.Verifier;

/// <summary>Configuration section "Verifier": the limits of one Check call.</summary>
public sealed class VerifierOptions
{
    public const string Section = "Verifier";

    public int MaxQuestionBytes { get; set; } = 8 * 1024;
    public int MaxCandidates { get; set; } = 64;
    /// <summary>Per candidate text (a 1,024-token candidate is a few KiB).</summary>
    public int MaxTextBytes { get; set; } = 64 * 1024;
}
