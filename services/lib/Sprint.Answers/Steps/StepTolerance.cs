namespace Sprint.Answers;

/// <summary>
/// When a written result holds — the checker's tolerance rules, in one place: exactly; rounded or cut to the written
/// number of decimals; a whole number for a fraction only when the value is at least 1; a written percent as the value
/// or the value in percent; and a running total ("3 * 4 = 12 + 2 = 14") by its leading number.
/// </summary>
internal static class StepTolerance
{
    /// <summary>Whether the value of <paramref name="computed"/> is what <paramref name="written"/> says.</summary>
    internal static bool Holds(StepSide computed, StepSide written)
    {
        if (computed.Value == written.Value) return true;
        if (written.Literal is { } lit && Matches(computed.Value, lit.Value, lit.Decimals)) return true;
        if (written.Literal is { IsPercent: true } pct && Matches(computed.Value, pct.Value * new Rational(100, 1), pct.Decimals)) return true;
        // A running total: "3 * 4 = 12 + 2 = 14" writes 3 * 4 = 12, then goes on from 12.
        return !written.IsLiteral && written.Leading is { } lead && Matches(computed.Value, lead.Value, lead.Decimals);
    }

    /// <summary>
    /// Exactly, or rounded or cut to the written decimals; a whole number written for a fraction only when the value is
    /// at least 1 ("7/2 = 3" people, not "0.6 = 1").
    /// </summary>
    internal static bool Matches(Rational value, Rational written, int decimals) =>
        value == written || (decimals > 0 || value.Numerator.Sign * value.Numerator >= value.Denominator)
            && (value.Round(decimals) == written || value.Truncate(decimals) == written);
}
