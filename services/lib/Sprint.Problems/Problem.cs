namespace Sprint.Problems;

/// <summary>
/// One math question from any source. <see cref="Solution"/> is a worked solution when the source has one;
/// <see cref="Level"/> is the source's difficulty (1 = easiest), null when it has none.
/// </summary>
public sealed record Problem(string Id, string Question, string Answer, int? Level, string Source, string? Solution = null);
