using System.Text;

namespace Sprint.Answers;

/// <summary>
/// The step check of a text that is still being written: text goes in as it decodes (any split, even inside a
/// character's UTF-16 pair or a number), each line is checked once, when its newline arrives, and the first failed
/// step is known as soon as the line holding it is complete. <see cref="Finish"/> checks the last line and gives
/// exactly what <see cref="StepChecker.Check"/> gives for the whole text (a test holds every reference solution and
/// logged candidate to that). Work is linear in the text: a line is buffered until it ends, then read once; the
/// caller bounds the text's length (the Verifier: its per-candidate limit).
/// </summary>
public sealed class StepReader
{
    readonly StringBuilder line = new();
    readonly StepChecker.Tally tally = new();
    bool finished;

    /// <summary>Characters read so far (the line in progress included).</summary>
    public long Length { get; private set; }

    /// <summary>Lines completed so far.</summary>
    public int Lines { get; private set; }

    /// <summary>The steps of the completed lines so far.</summary>
    public StepCheck Current => tally.Result;

    /// <summary>
    /// Appends text; checks every line it completes. Returns the text's first failed step when a line this call
    /// completed holds it (null otherwise, also when an earlier line already failed).
    /// </summary>
    public StepFailure? Append(string text)
    {
        ObjectDisposedException.ThrowIf(finished, this);
        bool failedBefore = tally.First is not null;
        int start = 0;
        for (int nl = text.IndexOf('\n'); nl >= 0; nl = text.IndexOf('\n', start))
        {
            line.Append(text, start, nl - start);
            StepChecker.CheckLine(line.ToString(), tally);
            line.Clear();
            Lines++;
            start = nl + 1;
        }
        line.Append(text, start, text.Length - start);
        Length += text.Length;
        return failedBefore ? null : tally.First;
    }

    /// <summary>The text has ended: its last line is checked and the whole text's result returned (once).</summary>
    public StepCheck Finish()
    {
        ObjectDisposedException.ThrowIf(finished, this);
        finished = true;
        if (Length > 0) StepChecker.CheckLine(line.ToString(), tally);
        line.Clear();
        return tally.Result;
    }
}
