namespace Sprint.Gateway;

/// <summary>Configuration section "Gateway". An empty upstream address means this process (sprint serve).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>
    /// The embedding service's replicas: e.g. "http://127.0.0.1:5001" (https:// for TLS, see Service:Tls), several
    /// separated by commas, or one "dns:///embedding:5001" that resolves to every replica (<see cref="ReplicaCalls"/>).
    /// </summary>
    public string? EmbeddingAddress { get; set; }
    /// <summary>The head selector's replicas, as <see cref="EmbeddingAddress"/>: e.g. "http://127.0.0.1:5002".</summary>
    public string? SelectorAddress { get; set; }
    /// <summary>The Verifier's replicas, as <see cref="EmbeddingAddress"/>: e.g. "http://127.0.0.1:5004".</summary>
    public string? VerifierAddress { get; set; }
    /// <summary>
    /// How long a sprint or global_top Solve waits for the embedding service and the head selector to choose its
    /// heads; past it (or when neither replica can answer) the Solve is planned as sampling with the same seed and
    /// its plan says why (SolveRequest.require_selected_heads refuses that). SPRINT's premise is a cheap choice:
    /// an Embed and a Select take milliseconds.
    /// </summary>
    public TimeSpan HeadSelectionTimeout { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>
    /// An idempotent call (Embed, Select, Check, ModelInfo) not answered within this time is sent to a second replica
    /// as well, and the first answer wins (<see cref="ReplicaCalls.Hedged"/>); one that fails UNAVAILABLE is tried again after it.
    /// </summary>
    public TimeSpan HedgingDelay { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// How long one candidate's check may take; past it (or when the Verifier fails) the Solve votes by plain
    /// majority and its verdict says why.
    /// </summary>
    public TimeSpan VerifierTimeout { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>
    /// Generator replicas: a list of "http://host:port" (client-side round robin over all of them), or one
    /// "dns:///name:port" (round robin over every address the name resolves to, e.g. a Kubernetes headless service).
    /// </summary>
    public List<string> GeneratorAddresses { get; set; } = [];
    /// <summary>HTTP/2 keepalive ping interval on the gateway's upstream connections (while calls are active).</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>A connection whose peer does not answer a ping within this time is closed and its calls fail (UNAVAILABLE).</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>How often a dns:/// generator address is re-resolved to pick up new replicas.</summary>
    public TimeSpan DnsRefreshInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// GenerateGroup calls per Solve; 0 (default) makes one per generator replica (the static addresses, or the
    /// addresses a dns:/// name resolves to), so round robin gives each replica one group.
    /// </summary>
    public int CandidateGroups { get; set; }

    /// <summary>
    /// A generator stream that sends nothing for this long is given up as stalled and its unfinished candidates start
    /// over on another replica (a decoding candidate streams at least every Generator:StreamInterval; the wait covers
    /// a candidate queued behind a full batch). A replica that stops answering altogether is found sooner, by the
    /// keepalive pings (<see cref="KeepAlive"/> + <see cref="KeepAliveTimeout"/>).
    /// </summary>
    public TimeSpan CandidateProgressTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Times the unfinished candidates of a failed or stalled replica are started again on another one.</summary>
    public int CandidateRestarts { get; set; } = 1;
    /// <summary>How long a generator replica whose call failed at the transport is left out of the round robin.</summary>
    public TimeSpan EjectionTime { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Longest wait between reconnection attempts to a generator replica that went away (a restarted one gets traffic again within it).</summary>
    public TimeSpan MaxReconnectBackoff { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Origins whose pages may call Solve over gRPC-Web (CORS), e.g. "https://sprint.example.com"; the gateway's own page needs none.</summary>
    public List<string> CorsOrigins { get; set; } = [];
    /// <summary>Benchmarks only: candidates ignore the end-of-sequence token and always decode max_new_tokens.</summary>
    public bool IgnoreEos { get; set; }

    /// <summary>
    /// Refuses at start-up an upstream address that would carry Service:Auth:ServiceKey in cleartext across a network
    /// (<see cref="Sprint.ServiceDefaults.Exposure.CheckUpstream"/>): the message names the setting.
    /// </summary>
    public void CheckUpstreams(Sprint.ServiceDefaults.ServiceOptions service)
    {
        var check = (string setting, string? address) => Sprint.ServiceDefaults.Exposure.CheckUpstream($"{Section}:{setting}", address, service.Auth, service.Tls.Enabled);
        foreach (var (setting, value) in new[] { (nameof(EmbeddingAddress), EmbeddingAddress), (nameof(SelectorAddress), SelectorAddress), (nameof(VerifierAddress), VerifierAddress) })
            foreach (var address in ReplicaCalls.Split(value)) check(setting, address);
        for (int i = 0; i < GeneratorAddresses.Count; i++) check($"{nameof(GeneratorAddresses)}:{i}", GeneratorAddresses[i]);
    }

    public int MaxQuestionBytes { get; set; } = 8 * 1024;
    public int DefaultN { get; set; } = Sprint.Core.Defaults.N;
    public int MaxN { get; set; } = 64;
    public int DefaultMaxNewTokens { get; set; } = Sprint.Core.Defaults.MaxNewTokens;
    public int MaxNewTokensLimit { get; set; } = 1024;
}
