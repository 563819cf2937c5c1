namespace Sprint.Verifier;

/// <summary>
/// Configuration section "Verifier": the limits of one Check call, and the learned verifier. <c>Model</c> is the
/// language model folder whose <c>verifier.safetensors</c> scores candidates (the shipped model by default); empty
/// for step checks only. A folder without a verifier also means step checks only (logged, and said by VerifierInfo).
/// </summary>
public sealed class VerifierOptions : Inference.ModelHostOptions
{
    public const string Section = "Verifier";

    public int MaxQuestionBytes { get; set; } = 8 * 1024;
    public int MaxCandidates { get; set; } = 64;
    /// <summary>Per candidate text (a 1,024-token candidate is a few KiB).</summary>
    public int MaxTextBytes { get; set; } = 64 * 1024;
    /// <summary>
    /// How long a Check waits for the learned verifier's scores; past it the step checks are answered without scores.
    /// Below the gateway's Gateway:VerifierTimeout (2 s), so that a slow model costs the weighted vote, never the step checks.
    /// </summary>
    public TimeSpan ScoreTimeout { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How long the first waiting candidate waits for others (of any call) to be scored with it.</summary>
    public TimeSpan BatchWait { get; set; } = TimeSpan.FromMilliseconds(2);
    /// <summary>Candidates scored together at most.</summary>
    public int MaxBatch { get; set; } = 32;
}
