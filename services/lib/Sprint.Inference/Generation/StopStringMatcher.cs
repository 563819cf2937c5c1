using System.Text;

namespace Sprint.Inference.Generation;

/// <summary>
/// Releases streamed text while watching for stop strings: text that could still be the start of a stop string is
/// held back until it is not, and a found stop string ends the output just before it.
/// </summary>
public sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    readonly StringBuilder pending = new();

    public bool Stopped { get; private set; }

    /// <summary>Adds text; returns what can be released now.</summary>
    public string Push(string text)
    {
        if (Stopped) return "";
        if (stops.Count == 0) return text;
        pending.Append(text);
        var current = pending.ToString();
        int found = -1;
        foreach (var stop in stops)
        {
            int at = current.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (found < 0 || at < found)) found = at;
        }
        if (found >= 0)
        {
            Stopped = true;
            pending.Clear();
            return current[..found];
        }
        int hold = HeldSuffix(current);
        pending.Clear().Append(current, current.Length - hold, hold);
        return current[..^hold];
    }

    /// <summary>The rest, at the end of the sequence.</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : pending.ToString();
        pending.Clear();
        return rest;
    }

    int HeldSuffix(string text)
    {
        int best = 0;
        foreach (var stop in stops)
            for (int n = Math.Min(stop.Length - 1, text.Length); n > best; n--)
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n))) { best = n; break; }
        return best;
    }
}
