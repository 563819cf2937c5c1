using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using Sprint.Answers;
using Sprint.Contracts.V1;
using Sprint.Core;
using Sprint.ServiceDefaults;

namespace Sprint.Gateway;

// Verify while decoding: the scheduling note
// ------------------------------------------
// A Solve with a rejection policy runs each wave as SteerGroup calls (one per generator replica, as GenerateGroup
// would) and opens one Watch call to the Verifier for the whole Solve. One loop owns all the state; the calls' readers
// only post what they hear into its inbox, so every decision is taken by one thread, in order:
//   delta    → forwarded to the client and to the Watch; a delta that ends a line waits for the Verifier's word, and
//              until it comes the candidate is known only up to its last checked line (RejectionRace.Known);
//   watch    → `progress` or `failure` for the oldest such delta (`failure`: RejectionRace.Failed at that delta's
//              tokens); `result` (after the candidate's end) is its check for the vote: RejectionRace.Finished;
//   result   → the candidate's result; a stopped one ends FINISH_REASON_REJECTED with its text to the failing line;
//   decision → RejectionRace.Resolve after each: stop → `stop` on the candidate's SteerGroup call and a CandidateStop
//              event; replacement → `add` of the plan's next candidate on the same call (its replica prefills it).
// A SteerGroup call is closed once each of its candidates has a result and nothing more can be decided about it. The
// wave ends when every call has ended. A replica that fails or stalls: its unfinished candidates start over on another
// (a restart event; the Watch is told to void their text), as without rejection. A Verifier that fails: no more
// decisions, every candidate runs to its end, the vote falls back to majority (CandidateChecks.Failure).

/// <summary>One Solve's candidates under a rejection policy (<see cref="RejectionRace"/>), wave by wave, as the
/// scheduling note above says; <see cref="CandidateRunner"/> runs the waves.</summary>
sealed class RejectingRun(ICandidateUpstreams upstreams, GatewayOptions options, GatewayMetrics metrics, ILogger log, CandidatePlan plan, SolveSpec spec,
    CandidateResult[] results, RpcException?[] failures, CandidateChecks checks, ChannelWriter<SolveResponse> events, DateTime deadline, CancellationToken ct) : IAsyncDisposable
{
    /// <summary>What a call's reader posts to the loop.</summary>
    abstract record Input;
    sealed record GroupEvent(Group Group, GenerateGroupResponse Message) : Input;
    sealed record GroupEnded(Group Group, RpcException? Error) : Input;
    sealed record WatchEvent(WatchResponse Message) : Input;
    sealed record WatchEnded(string Why) : Input;

    sealed class Group
    {
        public required AsyncDuplexStreamingCall<SteerGroupRequest, SteerGroupResponse> Call;
        public required CancellationTokenSource Stall;
        public System.Diagnostics.Activity? Span;
        public readonly List<Member> Members = [];
        public int Attempt;
        public bool Closed, Ended;
    }

    sealed class Member
    {
        public required PlanEntry Entry;
        public required Group Group;
        public int Tokens, Total;   // tokens of this attempt; all tokens generated (restarts and a stop's lag included)
        public readonly StringBuilder Text = new();
        public readonly Queue<(int Tokens, int Chars)> Unchecked = new();   // deltas that ended a line, oldest first
        public int Skip;            // Watch answers still to come for text voided by a restart
        public bool HasResult, Checked, Stopped, Decided, Failed;
        public int? StopChars;
        public Contracts.V1.StepFailure? Failure;
    }

    static readonly System.Diagnostics.ActivitySource Traces = new("Sprint.Gateway");
    readonly Channel<Input> inbox = Channel.CreateUnbounded<Input>(new UnboundedChannelOptions { SingleReader = true });
    readonly Dictionary<int, Member> members = [];
    AsyncDuplexStreamingCall<WatchRequest, WatchResponse>? watch;
    Task? watchReader;
    bool watchBroken;
    RejectionRace race = null!;
    int pendingGroups;

    /// <summary>Plan indices started so far (in order), and those stopped.</summary>
    public List<int> Started { get; } = [];
    public HashSet<int> Stopped { get; } = [];
    public int Next { get; private set; }

    /// <summary>
    /// Runs one wave: <paramref name="count"/> plan candidates from <see cref="Next"/> on, their replacements, until every
    /// one has ended. <paramref name="heldBefore"/>: a candidate of an earlier wave finished holding with an answer.
    /// </summary>
    public async Task RunWaveAsync(int count, bool heldBefore)
    {
        await OpenWatchAsync().ConfigureAwait(false);
        var wave = plan.Candidates.Skip(Next).Take(count).ToList();
        Next += wave.Count;
        race = new RejectionRace(spec.Rejecting, Next, plan.Candidates.Count, heldBefore);   // the plan's length is the cap
        int replicas = options.CandidateGroups > 0 ? options.CandidateGroups : await upstreams.GeneratorReplicasAsync(ct).ConfigureAwait(false);
        int groups = Math.Clamp(replicas, 1, wave.Count);
        foreach (var g in wave.GroupBy(c => c.Index % groups))
        {
            foreach (var c in g) race.Started(c.Index);
            Start(g.ToList(), attempt: 0);
        }
        await foreach (var input in inbox.Reader.ReadAllAsync(ct).ConfigureAwait(false))
        {
            await HandleAsync(input).ConfigureAwait(false);
            await DecideAsync().ConfigureAwait(false);
            await CloseDoneGroupsAsync().ConfigureAwait(false);
            if (pendingGroups == 0) break;
        }
    }

    async Task HandleAsync(Input input)
    {
        switch (input)
        {
            case GroupEvent { Message: var m } e when members.TryGetValue(m.Index, out var member) && member.Group == e.Group:
                e.Group.Stall.CancelAfter(options.CandidateProgressTimeout);   // progress: the stall clock starts again
                if (m.Delta is { } delta) await DeltaAsync(member, delta).ConfigureAwait(false);
                else if (m.Result is { } result) await ResultAsync(member, result).ConfigureAwait(false);
                break;
            case GroupEvent e:
                e.Group.Stall.CancelAfter(options.CandidateProgressTimeout);
                break;
            case GroupEnded ended:
                await GroupEndedAsync(ended.Group, ended.Error).ConfigureAwait(false);
                break;
            case WatchEvent { Message: var w }:
                Watched(w);
                break;
            case WatchEnded ended:
                if (!watchBroken) log.LogWarning("the Verifier's Watch ended ({Why}): no more candidates are stopped in this Solve", ended.Why);
                watchBroken = true;
                checks.Fail(ended.Why);
                break;
        }
    }

    async Task DeltaAsync(Member member, TokenDelta delta)
    {
        member.Total += delta.TokenIds.Count;
        if (member.Stopped) return;   // decoded while the stop travelled: counted, not shown
        member.Tokens += delta.TokenIds.Count;
        int index = member.Entry.Index;
        if (delta.Text.Length > 0)
        {
            member.Text.Append(delta.Text);
            events.TryWrite(new SolveResponse { Delta = new CandidateDelta { Index = index, Configuration = member.Entry.Config.Name, Text = delta.Text } });
        }
        if (watchBroken) return;
        await SendWatchAsync(new WatchRequest { Text = new CandidateText { Index = index, Text = delta.Text } }).ConfigureAwait(false);
        if (delta.Text.Contains('\n')) member.Unchecked.Enqueue((member.Tokens, member.Text.Length));
        else if (member.Unchecked.Count == 0) race.Known(index, member.Tokens);
    }

    async Task ResultAsync(Member member, GenerationResult final)
    {
        member.HasResult = true;
        var result = results[member.Entry.Index];
        result.MeanLogProb = final.MeanLogProb;
        result.TimeToFirstTokenMs = final.TimeToFirstTokenMs;
        result.PromptTokens = final.PromptTokens;
        result.Tokens = member.Total;
        if (member.Stopped)
        {
            var text = member.Text.ToString();
            result.Text = member.StopChars is int end && end <= text.Length ? text[..end] : text;
            result.Answer = "";   // stopped: no answer, no vote
            result.FinishReason = FinishReason.Rejected;
            metrics.StopLag(member.Total - race.Decisions.Last(d => d.Index == member.Entry.Index).AtToken);
            events.TryWrite(new SolveResponse { Candidate = result });
            return;
        }
        result.Text = final.Text;
        result.Answer = AnswerExtractor.Extract(final.Text) ?? "";
        result.FinishReason = final.FinishReason;
        events.TryWrite(new SolveResponse { Candidate = result });
        if (watchBroken || final.Text.Length == 0)
        {
            if (!watchBroken) Finish(member, holds: false);   // nothing written: no check, no vote
            return;
        }
        await SendWatchAsync(new WatchRequest { End = new WatchCandidate { Index = member.Entry.Index } }).ConfigureAwait(false);
    }

    void Watched(WatchResponse w)
    {
        if (!members.TryGetValue(w.Index, out var member) || !race.Knows(w.Index)) return;   // a late answer about an earlier wave's candidate
        switch (w.EventCase)
        {
            case WatchResponse.EventOneofCase.Progress or WatchResponse.EventOneofCase.Failure:
                if (member.Skip > 0) { member.Skip--; return; }   // about text a restart voided
                if (!member.Unchecked.TryDequeue(out var line)) return;
                if (w.Failure is { } failure)
                {
                    member.Failure ??= failure;
                    member.StopChars ??= line.Chars;
                    race.Failed(w.Index, line.Tokens);
                }
                else race.Known(w.Index, member.Unchecked.Count == 0 ? member.Tokens : line.Tokens);
                break;
            case WatchResponse.EventOneofCase.Result:
                checks.Record(w.Result);
                Finish(member, holds: w.Result.FailedSteps == 0 && results[w.Index].Answer.Length > 0);
                break;
        }
    }

    void Finish(Member member, bool holds)
    {
        member.Checked = true;
        race.Finished(member.Entry.Index, member.Tokens, holds);
    }

    async Task DecideAsync()
    {
        if (watchBroken) return;
        foreach (var d in race.Resolve())
        {
            var member = members[d.Index];
            member.Decided = true;
            if (!d.Stopped) { metrics.Rejected(stopped: false); continue; }
            member.Stopped = true;
            Stopped.Add(d.Index);
            metrics.Rejected(stopped: true, savedBound: spec.MaxNewTokens - d.AtToken);
            if (!member.HasResult && !member.Group.Closed)
                await SendAsync(member.Group, new SteerGroupRequest { Stop = new StopCandidate { Index = d.Index } }).ConfigureAwait(false);
            var stop = new CandidateStop { Index = d.Index, Configuration = member.Entry.Config.Name, Failure = member.Failure, AtToken = d.AtToken };
            if (d.Replacement is int r)
            {
                stop.Replacement = r;
                Next = r + 1;
                metrics.Replaced();
                var entry = plan.Candidates[r];
                results[r] = new CandidateResult { Index = r, Configuration = entry.Config.Name };
                var added = Join(entry, member.Group);
                member.Group.Members.Add(added);
                await SendAsync(member.Group, new SteerGroupRequest { Add = CandidateRunner.Member(entry) }).ConfigureAwait(false);
            }
            events.TryWrite(new SolveResponse { Stop = stop });
            if (member.HasResult)   // it ended before the stop was decided: it stands as stopped all the same
            {
                var result = results[d.Index];
                result.Text = member.StopChars is int end && end <= result.Text.Length ? result.Text[..end] : result.Text;
                result.Answer = "";
                result.FinishReason = FinishReason.Rejected;
                events.TryWrite(new SolveResponse { Candidate = result });
            }
        }
    }

    /// <summary>A call whose candidates all have results, with nothing left to decide about them, is closed (its replica ends the stream).</summary>
    async Task CloseDoneGroupsAsync()
    {
        foreach (var group in members.Values.Select(m => m.Group).Distinct().Where(g => !g.Closed && !g.Ended).ToList())
        {
            bool done = group.Members.All(m => m.Failed || m.HasResult && (m.Stopped || watchBroken || m.Checked && (m.Decided || !race.HasFailure(m.Entry.Index))));
            if (!done) continue;
            group.Closed = true;
            try { await group.Call.RequestStream.CompleteAsync().ConfigureAwait(false); }
            catch (Exception) { }   // it ended already: its reader says so
        }
    }

    async Task GroupEndedAsync(Group group, RpcException? error)
    {
        group.Ended = true;
        pendingGroups--;
        var pending = group.Members.Where(m => !m.HasResult && !m.Failed).ToList();
        if (pending.Count == 0) return;
        var failure = error ?? new RpcException(new Status(StatusCode.Internal, "the generator ended the stream without a result"));
        if (CandidateRunner.Restartable(failure) && group.Attempt < options.CandidateRestarts && !ct.IsCancellationRequested)
        {
            string reason = Quote.Short($"{failure.StatusCode}: {failure.Status.Detail}");
            metrics.Restarted(pending.Count);
            foreach (var m in pending)
            {
                log.LogWarning("candidate {Index} ({Config}) starts over on another replica: {Reason}", m.Entry.Index, m.Entry.Config.Name, reason);
                events.TryWrite(new SolveResponse { Restart = new CandidateRestart { Index = m.Entry.Index, Configuration = m.Entry.Config.Name, Reason = reason } });
                if (!watchBroken && m.Text.Length + m.Tokens > 0) await SendWatchAsync(new WatchRequest { Restart = new WatchCandidate { Index = m.Entry.Index } }).ConfigureAwait(false);
                m.Skip += m.Unchecked.Count;
                m.Unchecked.Clear();
                m.Tokens = 0;
                m.Text.Clear();
            }
            Start(pending.Select(m => m.Entry).ToList(), group.Attempt + 1, pending);
            return;
        }
        foreach (var m in pending)
        {
            m.Failed = true;
            failures[m.Entry.Index] = failure;
            var result = results[m.Entry.Index];
            result.Error = $"{failure.StatusCode}: {failure.Status.Detail}";
            result.Tokens = m.Total;
            log.LogWarning("candidate {Index} ({Config}) failed: {Error}", m.Entry.Index, result.Configuration, Quote.Short(result.Error));
            events.TryWrite(new SolveResponse { Candidate = result });
            race.Finished(m.Entry.Index, m.Tokens, holds: false);   // nothing more will be heard of it
        }
    }

    /// <summary>Opens a SteerGroup call for <paramref name="entries"/> (their members, when restarted) and starts reading it into the inbox.</summary>
    void Start(IReadOnlyList<PlanEntry> entries, int attempt, IReadOnlyList<Member>? restarted = null)
    {
        var request = CandidateRunner.GroupRequest(spec, options, entries);
        var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(options.CandidateProgressTimeout);
        // One span per SteerGroup call (as per GenerateGroup call), the parent of the generator's server span; the loop
        // itself stays under the Solve's span.
        var parent = System.Diagnostics.Activity.Current;
        var span = Traces.StartActivity("sprint.gateway.candidates", System.Diagnostics.ActivityKind.Internal);
        span?.SetTag("sprint.candidate.indices", string.Join(",", entries.Select(c => c.Index)));
        span?.SetTag("sprint.candidate.configurations", string.Join(",", entries.Select(c => c.Config.Name)));
        var group = new Group { Call = upstreams.Generator.SteerGroup(deadline: deadline, cancellationToken: stall.Token), Stall = stall, Attempt = attempt, Span = span };
        System.Diagnostics.Activity.Current = parent;
        for (int i = 0; i < entries.Count; i++)
        {
            var m = restarted?[i] ?? Join(entries[i], group);
            m.Group = group;
            group.Members.Add(m);
            if (restarted is null) results[entries[i].Index] = new CandidateResult { Index = entries[i].Index, Configuration = entries[i].Config.Name };
        }
        pendingGroups++;
        _ = ReadGroupAsync(group, request);
    }

    Member Join(PlanEntry entry, Group group)
    {
        var m = new Member { Entry = entry, Group = group };
        members[entry.Index] = m;
        Started.Add(entry.Index);
        return m;
    }

    async Task ReadGroupAsync(Group group, GenerateGroupRequest start)
    {
        RpcException? error = null;
        try
        {
            await group.Call.RequestStream.WriteAsync(new SteerGroupRequest { Start = start }).ConfigureAwait(false);
            await foreach (var message in group.Call.ResponseStream.ReadAllAsync(group.Stall.Token).ConfigureAwait(false))
                inbox.Writer.TryWrite(new GroupEvent(group, message.Event));
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            error = group.Stall.IsCancellationRequested
                ? new RpcException(new Status(StatusCode.Unavailable, $"the replica sent nothing for {options.CandidateProgressTimeout.TotalSeconds:0.#} s"))
                : e is RpcException rpc ? UpstreamFailures.ForCallers(rpc, log, "generator")
                : new RpcException(new Status(StatusCode.Unknown, $"the generator call failed ({e.GetType().Name})"));
        }
        catch (Exception) { }
        group.Span?.SetTag("sprint.candidate.tokens", string.Join(",", group.Members.Select(m => m.Total)));
        group.Span?.Dispose();
        inbox.Writer.TryWrite(new GroupEnded(group, error));
    }

    async Task SendAsync(Group group, SteerGroupRequest message)
    {
        try { await group.Call.RequestStream.WriteAsync(message).ConfigureAwait(false); }
        catch (Exception) { }   // the call broke (a status, a reset connection, a cancelled call): its reader says so
    }

    async Task OpenWatchAsync()
    {
        if (watch is not null || watchBroken) return;
        try
        {
            watch = upstreams.Verifier.Watch(deadline: deadline, cancellationToken: ct);
            await watch.RequestStream.WriteAsync(new WatchRequest { Open = new WatchOpen { Question = spec.Question, SkipScores = !spec.Scores } }).ConfigureAwait(false);
            watchReader = ReadWatchAsync(watch);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            inbox.Writer.TryWrite(new WatchEnded(Why(e)));
        }
    }

    async Task ReadWatchAsync(AsyncDuplexStreamingCall<WatchRequest, WatchResponse> call)
    {
        try
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync(ct).ConfigureAwait(false))
                inbox.Writer.TryWrite(new WatchEvent(message));
            inbox.Writer.TryWrite(new WatchEnded("the Verifier ended the Watch"));
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            inbox.Writer.TryWrite(new WatchEnded(Why(e)));
        }
        catch (Exception) { }
    }

    async Task SendWatchAsync(WatchRequest message)
    {
        if (watch is null || watchBroken) return;
        try { await watch.RequestStream.WriteAsync(message).ConfigureAwait(false); }
        catch (Exception e) when (!ct.IsCancellationRequested)   // a status, a reset connection (IOException), a finished call
        {
            inbox.Writer.TryWrite(new WatchEnded(Why(e)));
        }
    }

    /// <summary>Why the Watch broke, for the verdict's rule (no internal address, no exception text).</summary>
    static string Why(Exception e) => e is RpcException { Status.DebugException: not null } r ? $"{r.StatusCode}: the Verifier could not be reached"
        : e is IOException ? "the Verifier's connection was lost"
        : e is RpcException r2 ? $"{r2.StatusCode}: {Quote.Short(r2.Status.Detail)}" : $"the Watch failed ({e.GetType().Name})";

    /// <summary>Every candidate that finished holding with an answer (for the next wave's race).</summary>
    public bool AnyHeld => Started.Any(i => !Stopped.Contains(i) && checks.Of(i) is { Holds: true } && results[i].Answer.Length > 0 && results[i].Error.Length == 0);

    public async ValueTask DisposeAsync()
    {
        if (watch is not null)
        {
            try { await watch.RequestStream.CompleteAsync().ConfigureAwait(false); } catch (Exception) { }
            if (watchReader is not null) try { await watchReader.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false); } catch (Exception) { }
            watch.Dispose();
        }
        foreach (var g in members.Values.Select(m => m.Group).Distinct())
        {
            g.Call.Dispose();
            g.Stall.Dispose();
        }
    }
}
