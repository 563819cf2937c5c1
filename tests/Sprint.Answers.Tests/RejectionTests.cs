namespace Sprint.Answers.Tests;

/// <summary>
/// The rejection policy's rules (<see cref="RejectionRace"/>, <see cref="RejectionReplay"/>): who is stopped, when a
/// candidate is kept, which candidate replaces it, the cap — and that a race told its candidates' stories bit by bit,
/// in any order (as the gateway hears them), takes exactly the decisions of one told everything at once (the replay).
/// </summary>
public sealed class RejectionTests
{
    static readonly RejectionPolicy Stop = RejectionPolicy.Parse("stop"), StopAll = RejectionPolicy.Parse("stop!"),
        Replace = RejectionPolicy.Parse("replace"), ReplaceAll = RejectionPolicy.Parse("replace!");

    [Fact]
    public void Names_parse_back()
    {
        foreach (var name in new[] { "none", "stop", "stop!", "replace", "replace!", "replace~", "replace!x3", "replace~x1", "replacex4" })
            Assert.Equal(name, RejectionPolicy.Parse(name).ToString());
        Assert.Equal(new RejectionPolicy(Rejection.Replace, EveryoneFails.KeepLast, 2), RejectionPolicy.Parse(" Replace "));
        foreach (var bad in new[] { "", "!", "halt", "none!", "stop~", "replacex0", "replacex9", "stopx2" })
            Assert.Contains("rejection", Assert.Throws<ArgumentException>(() => RejectionPolicy.Parse(bad)).Message);
        Assert.Equal(16, Replace.Cap(8));
        Assert.Equal(8, Stop.Cap(8));
    }

    [Fact]
    public void A_failed_candidate_stops_at_its_line_while_another_is_free_of_a_failed_step()
    {
        // 0 fails at token 10; 1 is clean and longer: 0 stops at 10 and generates 10 tokens.
        var outcome = RejectionReplay.Run([new(40, 10, false), new(50, null, true)], 2, Stop);
        Assert.True(outcome.IsStopped(0));
        Assert.Equal(10, outcome.Tokens[0]);
        Assert.Equal(50, outcome.Tokens[1]);
        Assert.Equal([1], outcome.Finished);
        Assert.Equal(60, outcome.GeneratedTokens);
        // None decodes everything.
        var none = RejectionReplay.Run([new(40, 10, false), new(50, null, true)], 2, RejectionPolicy.None);
        Assert.False(none.IsStopped(0));
        Assert.Equal(90, none.GeneratedTokens);
    }

    [Fact]
    public void The_last_candidate_free_of_a_failed_step_is_kept_unless_told_otherwise()
    {
        // 1 failed at 5, so when 0 fails at 10 nobody else is free: kept. 1 was stopped (0 was free at 5).
        var story = new RaceStory[] { new(40, 10, false), new(50, 5, false) };
        var keep = RejectionReplay.Run(story, 2, Stop);
        Assert.True(keep.IsStopped(1));
        Assert.False(keep.IsStopped(0));
        Assert.Equal(new RejectionDecision(0, 10, false, null), keep.Decisions[0]);
        Assert.Equal(45, keep.GeneratedTokens);
        var all = RejectionReplay.Run(story, 2, StopAll);
        Assert.True(all.IsStopped(0) && all.IsStopped(1));
        Assert.Equal(15, all.GeneratedTokens);
        // A finished candidate that holds with an answer is free of a failed step: 0 stops after 1 finished.
        var afterHold = RejectionReplay.Run([new(40, 30, false), new(20, null, true)], 2, Stop);
        Assert.True(afterHold.IsStopped(0));
        // One that finished failing (on its last line, or without an answer) is not.
        var afterSlip = RejectionReplay.Run([new(40, 30, false), new(20, null, false)], 2, Stop);
        Assert.False(afterSlip.IsStopped(0));
    }

    [Fact]
    public void A_stopped_candidate_is_replaced_by_the_plans_next_up_to_the_cap()
    {
        // n = 2, cap 4. 0 fails at 10 → 2 starts at 10; 2 fails at 10 + 5 = 15 → 3 starts; 3 fails at 15 + 5 → the cap: no fifth.
        var story = new RaceStory[] { new(40, 10, false), new(100, null, true), new(30, 5, false), new(30, 5, false), new(30, null, true) };
        var outcome = RejectionReplay.Run(story, 2, Replace);
        Assert.Equal([0, 1, 2, 3], outcome.Started);
        Assert.Equal(2, outcome.Decisions[0].Replacement);
        Assert.Equal(3, outcome.Decisions[2].Replacement);
        Assert.Null(outcome.Decisions[3].Replacement);
        Assert.True(outcome.IsStopped(3));
        Assert.Equal(10 + 100 + 5 + 5, outcome.GeneratedTokens);
        // Stop never starts another; the replay refuses a plan shorter than the cap.
        Assert.Equal([0, 1], RejectionReplay.Run(story, 2, Stop).Started);
        Assert.Throws<ArgumentException>(() => RejectionReplay.Run(story[..3], 2, Replace));
    }

    [Fact]
    public void Candidates_that_fail_at_the_same_step_are_not_free_for_each_other()
    {
        // Both fail at token 10 (decode steps in lockstep): at that moment neither is free of a failed step, so under
        // keep-last both decode on; a third, clean one makes both stop.
        var both = RejectionReplay.Run([new(40, 10, false), new(40, 10, false)], 2, Stop);
        Assert.False(both.IsStopped(0) || both.IsStopped(1));
        var third = RejectionReplay.Run([new(40, 10, false), new(40, 10, false), new(40, null, true)], 3, Stop);
        Assert.True(third.IsStopped(0) && third.IsStopped(1));
    }

    [Fact]
    public void When_no_one_else_is_free_a_failed_candidate_stops_only_for_a_replacement()
    {
        // n = 1, cap 2: 0 fails at 10 with nobody else → replaced by 1 (KeepLast); 1 fails at 10 + 5 with the plan used
        // up and nobody else free → kept, it decodes to its end and votes.
        var story = new RaceStory[] { new(40, 10, false), new(30, 5, false) };
        var last = RejectionReplay.Run(story, 1, Replace);
        Assert.True(last.IsStopped(0));
        Assert.Equal(1, last.Decisions[0].Replacement);
        Assert.False(last.IsStopped(1));
        Assert.Equal([1], last.Finished);
        // KeepAlways: 0 is kept (nobody else is free), so nothing replaces it.
        var always = RejectionReplay.Run(story, 1, RejectionPolicy.Parse("replace~"));
        Assert.False(always.IsStopped(0));
        Assert.Equal([0], always.Started);
        // StopAll: both stop, nothing votes.
        var all = RejectionReplay.Run(story, 1, ReplaceAll);
        Assert.Empty(all.Finished);
    }

    [Fact]
    public void Replacements_follow_the_order_of_the_stops_in_time_not_in_index()
    {
        // 1 fails first (at 5), then 0 (at 10): 1's replacement is plan index 2, 0's is 3.
        var outcome = RejectionReplay.Run([new(40, 10, false), new(40, 5, false), new(40, null, true), new(40, null, true)], 2, ReplaceAll);
        Assert.Equal(2, outcome.Decisions[1].Replacement);
        Assert.Equal(3, outcome.Decisions[0].Replacement);
    }

    [Fact]
    public void A_decision_waits_until_every_other_candidates_state_at_its_time_is_known()
    {
        var race = new RejectionRace(Stop, next: 2, cap: 2);
        race.Started(0);
        race.Started(1);
        race.Failed(0, 10);
        Assert.Empty(race.Resolve());   // 1 might have failed before 10
        race.Known(1, 9);
        Assert.Empty(race.Resolve());
        race.Known(1, 10);
        Assert.Equal([new RejectionDecision(0, 10, true, null)], race.Resolve());
        Assert.True(race.IsStopped(0));
        Assert.True(race.Settled);
    }

    /// <summary>
    /// The gateway hears each candidate's tokens, the Verifier's word and the results in its own order and pace; the
    /// evaluator knows everything at once. 500 seeded questions of 6 candidates, every policy: the same decisions.
    /// </summary>
    [Fact]
    public void Heard_bit_by_bit_in_any_order_the_race_decides_as_the_replay()
    {
        var random = new Random(5);
        int stops = 0, kept = 0, replaced = 0;
        for (int q = 0; q < 500; q++)
        {
            var story = Enumerable.Range(0, 12).Select(_ =>
            {
                int length = random.Next(5, 60);
                int? failure = random.NextDouble() < 0.85 ? random.Next(1, length + 1) : null;
                return new RaceStory(length, failure, failure is null && random.NextDouble() < 0.9);
            }).ToList();
            foreach (var policy in new[] { Stop, StopAll, Replace, ReplaceAll, RejectionPolicy.Parse("replace~") })
            {
                var replay = RejectionReplay.Run(story, 6, policy);
                var heard = Heard(story, 6, policy, random);
                Assert.Equal(replay.Decisions.Values.OrderBy(d => d.Index), heard.OrderBy(d => d.Index));
                stops += replay.Decisions.Values.Count(d => d.Stopped);
                kept += replay.Decisions.Values.Count(d => !d.Stopped);
                replaced += replay.Decisions.Values.Count(d => d.Replacement is not null);
            }
        }
        Assert.True(stops > 1000 && kept > 200 && replaced > 500, $"{stops} stops, {kept} kept, {replaced} replaced: every rule must be exercised");
    }

    /// <summary>What the gateway does: tell each running candidate's progress a few tokens at a time, in a random order.</summary>
    static List<RejectionDecision> Heard(IReadOnlyList<RaceStory> story, int n, RejectionPolicy policy, Random random)
    {
        var race = new RejectionRace(policy, n, policy.Cap(n));
        var progress = new Dictionary<int, int>();
        for (int i = 0; i < n; i++) { race.Started(i); progress[i] = 0; }
        var decisions = new List<RejectionDecision>();
        while (progress.Count > 0)
        {
            var index = progress.Keys.ElementAt(random.Next(progress.Count));
            var s = story[index];
            int to = Math.Min(s.Tokens, progress[index] + random.Next(1, 4));
            if (s.FailureToken is int f && progress[index] < f && to >= f) race.Failed(index, f);
            else race.Known(index, to);
            progress[index] = to;
            if (to == s.Tokens) { race.Finished(index, s.Tokens, s.Holds); progress.Remove(index); }
            foreach (var d in race.Resolve())
            {
                decisions.Add(d);
                if (d.Stopped) progress.Remove(d.Index);   // the generator stops it: nothing more is heard of it
                if (d.Replacement is int r) progress[r] = 0;
            }
        }
        Assert.True(race.Settled);
        return decisions;
    }
}
