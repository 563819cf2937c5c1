namespace Sprint.ServiceDefaults;

/// <summary>Configuration section "Service": where a service listens and how large its messages may be.</summary>
public sealed class ServiceOptions
{
    public const string Section = "Service";

    /// <summary>Address to bind: 127.0.0.1 (default), ::1, localhost, or 0.0.0.0 inside a container.</summary>
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>gRPC port (HTTP/2, plaintext unless <see cref="Tls"/> is configured); 0 picks a free port.</summary>
    public int Port { get; set; }
    /// <summary>Optional second port speaking HTTP/1.1, for gRPC-Web from browsers; 0 disables it.</summary>
    public int WebPort { get; set; }
    /// <summary>
    /// Optional HTTP/1.1 port serving <c>/metrics</c> in Prometheus text format (and nothing else), so the metrics stay
    /// off the public ports; 0 disables it.
    /// </summary>
    public int MetricsPort { get; set; }
    /// <summary>TLS for every port, optionally mutual (see <see cref="TlsOptions"/>); off without a certificate.</summary>
    public TlsOptions Tls { get; set; } = new();
    /// <summary>Who may call (API keys, JWT; see <see cref="AuthOptions"/>); off without keys or an issuer.</summary>
    public AuthOptions Auth { get; set; } = new();
    /// <summary>Per-caller limits (see <see cref="RateLimitOptions"/>); off by default.</summary>
    public RateLimitOptions RateLimits { get; set; } = new();
    /// <summary>On SIGTERM, how long health says NOT_SERVING while the service still serves (see <see cref="Drain"/>).</summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;
    /// <summary>On SIGTERM, how long calls in flight may take to finish once the server stops accepting.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(30);
    public int MaxReceiveMessageBytes { get; set; } = 1024 * 1024;
    public int MaxSendMessageBytes { get; set; } = 4 * 1024 * 1024;
}
