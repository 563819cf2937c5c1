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
    /// <summary>
    /// Who may call (API keys, JWT; see <see cref="AuthOptions"/>); without keys or an issuer every caller, which a
    /// non-loopback <see cref="Host"/> refuses unless Service:Auth:AllowAnonymous (<see cref="Exposure"/>).
    /// </summary>
    public AuthOptions Auth { get; set; } = new();
    /// <summary>Per-caller limits (see <see cref="RateLimitOptions"/>): off for credentials by default, on for anonymous callers on a network.</summary>
    public RateLimitOptions RateLimits { get; set; } = new();
    /// <summary>The OpenAPI document (<see cref="HttpJson.OpenApiPath"/>) and Swagger UI (/swagger): off by default, on for sprint serve.</summary>
    public bool OpenApi { get; set; }
    /// <summary>
    /// Host headers the service answers on a loopback <see cref="Host"/> when the configuration has no AllowedHosts:
    /// a page on another name (DNS rebinding) cannot drive it. On other addresses ASP.NET Core's AllowedHosts decides.
    /// </summary>
    public static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];
    /// <summary>Kestrel's limit on open connections (all ports together).</summary>
    public int MaxConnections { get; set; } = 1024;
    /// <summary>Kestrel's limit on concurrent HTTP/2 streams (calls) per connection.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;
    /// <summary>On SIGTERM, how long health says NOT_SERVING while the service still serves (see <see cref="Drain"/>).</summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;
    /// <summary>On SIGTERM, how long calls in flight may take to finish once the server stops accepting.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(30);
    public int MaxReceiveMessageBytes { get; set; } = 1024 * 1024;
    public int MaxSendMessageBytes { get; set; } = 4 * 1024 * 1024;
}

/// <summary>
/// A start-up refused for its settings (exposure without authentication, a JWT without issuer or audience, the service
/// key toward a cleartext upstream, incomplete TLS): the message names the setting and what fixes it. A service
/// process prints it as one line and exits 2 (<see cref="SprintServiceHost.Run"/>).
/// </summary>
public sealed class SettingsException(string message) : InvalidOperationException(message);
