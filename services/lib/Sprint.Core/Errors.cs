namespace Sprint.Core;

/// <summary>
/// A request field breaks a rule. Thrown by the type that owns the rule; every service maps it to
/// INVALID_ARGUMENT with the message <c>"{field}: {why}"</c>, so clients learn which field to fix.
/// </summary>
public sealed class InvalidFieldException(string field, string why) : ArgumentException($"{field}: {why}", field)
{
    /// <summary>The field as the client named it, e.g. <c>sampling.temperature</c> or <c>pruned_heads[2].layer</c>.</summary>
    public string Field { get; } = field;
    public string Why { get; } = why;

    /// <summary>"field: why" (without ArgumentException's "(Parameter …)" suffix): what clients see as the status detail.</summary>
    public override string Message => $"{Field}: {Why}";

    /// <summary>The same rule seen from an enclosing message: <c>sampling</c> + <c>temperature</c> → <c>sampling.temperature</c>.</summary>
    public InvalidFieldException Within(string parent) => new($"{parent}.{Field}", Why);
}

/// <summary>
/// The request is well formed but the system is not in a state to serve it (e.g. the "sprint" strategy on a model
/// that has no trained selector). Services map it to FAILED_PRECONDITION; the message says what to do.
/// </summary>
public sealed class FailedPreconditionException(string message) : InvalidOperationException(message);

/// <summary>
/// Something a service loads at start-up (a model folder, a checkpoint, a tokenizer) cannot be loaded, for a reason
/// the message states in full for an operator (a missing folder, a file of another shape): services log it as one
/// line, without a stack trace (<c>LoadedInBackground</c>), and tell callers only that it failed to load.
/// </summary>
public class LoadException(string message) : Exception(message);
