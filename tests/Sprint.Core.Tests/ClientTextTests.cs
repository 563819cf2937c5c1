namespace Sprint.Core.Tests;

public sealed class ClientTextTests
{
    [Fact]
    public void Text_is_trimmed_and_composed()
    {
        Assert.Equal("café", ClientText.Normalized("  cafe\u0301\n", "text"));   // e + combining acute → é
    }

    [Theory]
    [InlineData("ab\uFFFEcd", "U+FFFE at index 2")]
    [InlineData("\uFFFE", "U+FFFE at index 0")]
    public void Text_that_cannot_be_normalized_names_the_field_and_the_code_point(string text, string where)
    {
        var e = Assert.Throws<InvalidFieldException>(() => ClientText.Normalized(text, "question"));
        Assert.Equal("question", e.Field);
        Assert.Contains(where, e.Why);
    }

    [Fact]
    public void A_valid_surrogate_pair_passes()
    {
        Assert.Equal("x😀", ClientText.Normalized("x😀", "text"));
    }
}
