namespace Sprint.Inference.Generation;

/// <summary>
/// Who may decode: the queue of waiting sequences and the limits of <see cref="EngineOptions"/> (rows and the
/// KV-cache token budget, counted as rows × the longest reservation because every cache slot has the longest row's columns). Sequences
/// being prefilled count like running rows, so a submission during a prefill cannot overfill the batch.
/// First come, first served: nobody overtakes the head of the queue. Every member is called under the
/// scheduler's lock.
/// </summary>
sealed class Admission(EngineOptions options)
{
    readonly LinkedList<SequenceState> queued = new();

    public int Queued => queued.Count;

    /// <summary>
    /// Queues a group (one sequence, or a Solve's candidates) behind the running ones as one: all of it or none, so a
    /// group is admitted in one round and prefilled together when it fits; throws <see cref="EngineOverloadedException"/>
    /// when it does not fit now and the policy is Reject, or when the queue is full.
    /// </summary>
    public void Enqueue(IReadOnlyList<SequenceState> group, IReadOnlyCollection<SequenceState> running)
    {
        bool fitsNow = Fits(running.Concat(queued).Concat(group).Select(s => s.Reservation));
        if (!fitsNow && options.WhenFull == AdmissionPolicy.Reject)
            throw new EngineOverloadedException($"engine full: {running.Count} sequences decoding, {queued.Count} queued " +
                $"(max {options.MaxConcurrentSequences} sequences, {options.MaxBatchTokens} batch tokens)");
        if (queued.Count + group.Count > options.MaxQueuedSequences)
            throw new EngineOverloadedException(group.Count == 1 ? $"engine queue full: {queued.Count} sequences waiting"
                : $"engine queue full: {queued.Count} sequences waiting, a group of {group.Count} does not fit (max {options.MaxQueuedSequences})");
        foreach (var sequence in group) sequence.Node = queued.AddLast(sequence);
    }

    /// <summary>Takes a waiting sequence out of the queue (cancelled before it ran); false when it is not waiting.</summary>
    public bool Remove(SequenceState sequence)
    {
        if (sequence.Node is not { List: not null } node) return false;
        queued.Remove(node);
        sequence.Node = null;
        return true;
    }

    /// <summary>The longest prefix of the queue that fits beside <paramref name="running"/>, taken out of the queue.</summary>
    public List<SequenceState> TakeFitting(IEnumerable<SequenceState> running)
    {
        var reservations = running.Select(s => s.Reservation).ToList();
        var admitted = new List<SequenceState>();
        while (queued.First is { } node)
        {
            reservations.Add(node.Value.Reservation);
            if (!Fits(reservations)) break;
            queued.RemoveFirst();
            node.Value.Node = null;
            admitted.Add(node.Value);
        }
        return admitted;
    }

    public List<SequenceState> DrainAll()
    {
        var all = queued.ToList();
        foreach (var s in all) s.Node = null;
        queued.Clear();
        return all;
    }

    bool Fits(IEnumerable<int> reservations)
    {
        int count = 0, longest = 0;
        foreach (var r in reservations) { count++; longest = Math.Max(longest, r); }
        return count <= options.MaxConcurrentSequences && (long)count * longest <= options.MaxBatchTokens;
    }
}
