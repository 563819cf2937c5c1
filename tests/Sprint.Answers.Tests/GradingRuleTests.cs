using Sprint.Answers;

namespace Sprint.Answers.Tests;

public sealed class GradingRuleTests
{
    [Theory]
    [InlineData("\\frac{1}{2}", "0.5")]
    [InlineData("\\dfrac{1}{2}", "\\frac12")]
    [InlineData("\\tfrac{3}{4}", "3/4")]
    [InlineData("1/2", "\\frac{1}{2}")]
    [InlineData("5.0", "5")]
    [InlineData("5.00", "5")]
    [InlineData("1,234", "1234")]
    [InlineData("-1,234.5", "-1234.5")]
    [InlineData("90^\\circ", "90")]
    [InlineData("50\\%", "50")]
    [InlineData("x = 3", "3")]
    [InlineData("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})")]
    [InlineData("10\\text{ cm}", "10")]
    [InlineData("\\text{east}", "east")]
    [InlineData("\\$18", "18")]
    [InlineData("0.333333333", "0.3333333333")]
    [InlineData("\\sqrt2", "\\sqrt{2}")]
    [InlineData("2\\!000", "2000")]
    [InlineData("1\\,000", "1000")]                 // thin, medium and plain TeX spaces
    [InlineData("1\\;000", "1000")]
    [InlineData("1\\ 000", "1000")]
    [InlineData("45^{\\circ}", "45")]
    [InlineData("45°", "45")]
    [InlineData("$7$", "7")]
    [InlineData("5%", "5")]
    [InlineData(".5", "\\frac{1}{2}")]
    [InlineData("x = .25", "0.25")]
    [InlineData("\\frac{.5}{2}", "\\frac{0.5}{2}")]
    [InlineData("-\\frac{1}{2}", "-0.5")]
    [InlineData("\\frac{3}{4}", "0.75")]
    [InlineData("\\frac1{4}", "\\frac{1}{4}")]
    [InlineData("\\frac{x}{2}", "\\frac{x}{2}")]
    [InlineData("1000000", "1000000.5")]           // relative tolerance 1e-6 of the larger value
    [InlineData("0.0000001", "0.0000002")]         // and absolute 1e-6 near zero
    [InlineData("1\n000", "1000")]                // a line break inside an answer
    public void Equivalent_forms_grade_equal(string a, string b) => Assert.True(AnswerGrader.IsEquivalent(a, b), $"{a} vs {b}");

    [Theory]
    [InlineData("\\frac{1}{2}", "2")]
    [InlineData("(1,2)", "(2,1)")]
    [InlineData("5", "-5")]
    [InlineData("12", "1.2")]
    [InlineData("\\text{east}", "\\text{west}")]
    [InlineData("x^2", "x^3")]
    [InlineData("0.5", "0.6")]
    [InlineData("1000", "1001")]
    [InlineData("", "0")]
    [InlineData("\\sqrt{2}", "2")]
    [InlineData("1,2", "12")]            // a pair, not a thousands separator
    [InlineData("(3,4)", "(34)")]
    [InlineData("1,23", "123")]          // a comma is a thousands separator only before groups of three digits
    [InlineData("12,3456", "123456")]
    [InlineData("1,234,5", "12345")]
    [InlineData("2,3,5", "235")]
    [InlineData("1", "1.000002")]
    [InlineData("\\frac{1}{2}", "-0.5")]
    [InlineData("-\\frac{3}{4}", "0.75")]
    [InlineData("\\frac{1}{0}", "0")]
    [InlineData("\\frac{6}{3}", "3")]
    [InlineData("5", "")]
    [InlineData("", "")]
    public void Different_answers_do_not_grade_equal(string a, string b) => Assert.False(AnswerGrader.IsEquivalent(a, b), $"{a} vs {b}");

    [Theory]
    [InlineData("so the total is \\boxed{42}.", "42")]
    [InlineData("first \\boxed{1} then \\boxed{\\frac{a}{b^{2}}}", "\\frac{a}{b^{2}}")]
    [InlineData("the answer is $\\boxed 5$.", "5")]
    [InlineData("\\fbox{7}", "7")]
    [InlineData("Natalia sold 48/2 = 24 clips.\n#### 72", "72")]
    [InlineData("#### -1,200", "-1,200")]
    [InlineData("Therefore, the answer is 12.", "12")]
    [InlineData("The answer is: $\\frac{3}{5}$", "\\frac{3}{5}")]
    [InlineData("\\boxed 12", "12")]                          // the bare argument runs to the end
    [InlineData("\\boxed  {3}", "3")]                          // spaces before the brace
    [InlineData("\\boxed {3}", "3")]
    [InlineData("\\boxed\n{4}", "4")]
    [InlineData("the answer is $9$", "9")]
    public void Answers_are_extracted(string text, string expected) => Assert.Equal(expected, AnswerExtractor.Extract(text));

    [Theory]
    [InlineData("no answer here")]
    [InlineData("\\boxed{unbalanced")]
    [InlineData("\\boxed")]
    [InlineData("\\boxed   ")]
    [InlineData("\\boxed $")]
    [InlineData("\\boxedx{2}")]
    [InlineData("the answer is .")]
    [InlineData("")]
    public void Missing_answers_extract_to_null(string text) => Assert.Null(AnswerExtractor.Extract(text));

    [Fact]
    public void Null_answers_never_grade_equal()
    {
        Assert.False(AnswerGrader.IsEquivalent(null, "5"));
        Assert.False(AnswerGrader.IsEquivalent("5", null));
        Assert.False(AnswerGrader.IsEquivalent(null, null));
    }

    [Theory]
    [InlineData("\\frac{3}{4}", 0.75)]
    [InlineData("-\\frac{1}{4}", -0.25)]
    [InlineData("\\frac{-1}{4}", -0.25)]
    [InlineData("12", 12)]
    public void Numbers_and_numeric_fractions_are_read(string normalized, double expected)
    {
        Assert.True(AnswerNormalizer.TryNumber(normalized, out var value));
        Assert.Equal(expected, value, 12);
    }

    [Theory]
    [InlineData("\\frac{1}{0}")]
    [InlineData("\\frac{x}{2}")]
    [InlineData("east")]
    public void Non_numbers_are_not_read(string normalized) => Assert.False(AnswerNormalizer.TryNumber(normalized, out _));
}
