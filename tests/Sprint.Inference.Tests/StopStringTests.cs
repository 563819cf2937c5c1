using Sprint.Inference.Generation;

namespace Sprint.Inference.Tests;

public sealed class StopStringTests
{
    [Fact]
    public void Text_that_may_start_a_stop_string_is_held_back_then_released()
    {
        var m = new StopStringMatcher(["\n\nQuestion:"]);
        Assert.Equal("The answer is 4.", m.Push("The answer is 4."));
        Assert.Equal("", m.Push("\n"));
        Assert.Equal("", m.Push("\nQue"));
        Assert.Equal("\n\nQueue", m.Push("ue"));
        Assert.False(m.Stopped);
    }

    [Fact]
    public void A_stop_string_across_pieces_ends_the_output_before_it()
    {
        var m = new StopStringMatcher(["</answer>", "STOP"]);
        Assert.Equal("42", m.Push("42</ans"));
        Assert.Equal("", m.Push("wer> and more"));
        Assert.True(m.Stopped);
        Assert.Equal("", m.Push("ignored"));
        Assert.Equal("", m.Flush());
    }

    [Fact]
    public void The_earliest_stop_string_wins_and_flush_releases_the_rest()
    {
        var m = new StopStringMatcher(["b", "abc"]);
        Assert.Equal("x", m.Push("xa"));
        Assert.Equal("", m.Push("bc")); // "abc" starts before "b"
        var n = new StopStringMatcher(["END"]);
        Assert.Equal("tail ", n.Push("tail EN"));
        Assert.Equal("EN", n.Flush());
    }
}
