using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Configuration section "Service:Tls". With a certificate and key (PEM files) every port of the service speaks
/// TLS (HTTP/2 with ALPN on the gRPC port, HTTP/1.1 on the gRPC-Web port). <see cref="CaPath"/> names the CA
/// bundle the service trusts — for the services it calls (the gateway's upstreams) and, with
/// <see cref="RequireClientCertificate"/>, for its callers (mutual TLS between internal services: each service
/// presents its own certificate when it calls another).
/// </summary>
public sealed class TlsOptions
{
    /// <summary>PEM certificate (with its chain) of this service.</summary>
    public string? CertificatePath { get; set; }
    /// <summary>PEM private key of <see cref="CertificatePath"/>.</summary>
    public string? KeyPath { get; set; }
    /// <summary>PEM bundle of trusted CA certificates; empty trusts the system's store only.</summary>
    public string? CaPath { get; set; }
    /// <summary>
    /// Callers must present a certificate issued by <see cref="CaPath"/> (intermediates may come from the bundle or
    /// the caller) for client authentication (the clientAuth extended key usage).
    /// </summary>
    public bool RequireClientCertificate { get; set; }
    /// <summary>
    /// With <see cref="RequireClientCertificate"/>: the names (DNS subject alternative names, or the common name) a
    /// caller's certificate must carry one of, e.g. "gateway"; empty accepts any certificate the CA issued.
    /// </summary>
    public List<string> AllowedClientNames { get; set; } = [];

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>
/// The server and client sides of <see cref="TlsOptions"/>, loaded once per process. Chains are built by
/// <see cref="X509Chain"/> against the CA bundle alone (its self-signed certificates are the roots, the rest
/// intermediates), with the extended key usage the peer's role needs: clientAuth for callers, serverAuth for services.
/// </summary>
public sealed class Tls
{
    const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";
    readonly X509Certificate2? certificate;
    readonly X509Certificate2Collection? trusted;
    readonly X509Certificate2Collection intermediates = [];
    readonly bool requireClientCertificate;
    readonly List<string> allowedClientNames;

    public Tls(TlsOptions options)
    {
        if (options.Enabled)
        {
            if (string.IsNullOrWhiteSpace(options.KeyPath)) throw new SettingsException("Service:Tls:KeyPath is required with Service:Tls:CertificatePath");
            certificate = X509Certificate2.CreateFromPemFile(options.CertificatePath!, options.KeyPath);
        }
        if (!string.IsNullOrWhiteSpace(options.CaPath))
        {
            var bundle = new X509Certificate2Collection();
            bundle.ImportFromPemFile(options.CaPath);
            trusted = [];
            foreach (var c in bundle) (c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData) ? trusted : intermediates).Add(c);
            if (trusted.Count == 0) throw new SettingsException("Service:Tls:CaPath has no self-signed (root) certificate to trust");
        }
        if (options.RequireClientCertificate && trusted is null)
            throw new SettingsException("Service:Tls:RequireClientCertificate needs Service:Tls:CaPath (the CA that issues the callers' certificates)");
        requireClientCertificate = options.RequireClientCertificate;
        allowedClientNames = options.AllowedClientNames;
    }

    public bool Enabled => certificate is not null;

    /// <summary>Makes a Kestrel endpoint speak TLS when a certificate is configured.</summary>
    public void Apply(ListenOptions listen)
    {
        if (certificate is null) return;
        listen.UseHttps(https =>
        {
            https.ServerCertificate = certificate;
            if (!requireClientCertificate) return;
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            https.ClientCertificateValidation = (client, presented, _) => MayCall(client, presented);
        });
    }

    /// <summary>A caller's certificate: issued through the CA bundle, for client authentication, and one of the allowed names.</summary>
    bool MayCall(X509Certificate2 client, X509Chain? presented) =>
        client.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages[ClientAuth] is not null)
        && IssuedByTrusted(client, presented, ClientAuth)
        && (allowedClientNames.Count == 0 || allowedClientNames.Any(n => client.MatchesHostname(n, allowWildcards: false, allowCommonName: true)));

    /// <summary>
    /// The handler for this service's own gRPC clients: the server's certificate is checked against
    /// <see cref="TlsOptions.CaPath"/> alone when it is set (pinned: a certificate the system store trusts is not enough;
    /// the name must match as always), else the system store; this service's certificate goes along for mutual TLS, and HTTP/2 keepalive
    /// pings find a connection whose peer stopped answering (a stalled or vanished replica) within
    /// <paramref name="keepAlive"/> + <paramref name="keepAliveTimeout"/> even while a stream waits for its next message.
    /// </summary>
    public SocketsHttpHandler ClientHandler(TimeSpan keepAlive, TimeSpan keepAliveTimeout)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = keepAlive,
            KeepAlivePingTimeout = keepAliveTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        };
        if (certificate is not null) handler.SslOptions.ClientCertificates = [certificate];
        if (trusted is not null)
            handler.SslOptions.RemoteCertificateValidationCallback = (_, server, presented, errors) =>
                (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
                && server is X509Certificate2 s && IssuedByTrusted(s, presented, ServerAuth);
        return handler;
    }

    /// <summary>Whether <paramref name="leaf"/> chains to a root of the CA bundle, through its intermediates or those the peer sent, for <paramref name="usage"/>.</summary>
    bool IssuedByTrusted(X509Certificate2 leaf, X509Chain? presented, string usage)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted!);
        chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(usage));
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}

/// <summary>
/// The HTTP handler of this service's own gRPC clients (the gateway's upstream channels): TLS as configured
/// (<see cref="Tls.ClientHandler"/>, keepalive pings included) and this service's key (<see cref="AuthOptions.ServiceKey"/>).
/// </summary>
public sealed class ServiceClientHandler(Tls tls, AuthOptions auth)
{
    public HttpMessageHandler Create(TimeSpan keepAlive, TimeSpan keepAliveTimeout)
    {
        HttpMessageHandler handler = tls.ClientHandler(keepAlive, keepAliveTimeout);
        return string.IsNullOrEmpty(auth.ServiceKey) ? handler : new ServiceKeyHandler(auth.ServiceKey, handler);
    }

    public bool Tls => tls.Enabled;
}
