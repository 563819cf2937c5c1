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
    /// <summary>Callers must present a certificate issued by <see cref="CaPath"/>.</summary>
    public bool RequireClientCertificate { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}

/// <summary>The server and client sides of <see cref="TlsOptions"/>, loaded once per process.</summary>
public sealed class Tls
{
    readonly X509Certificate2? certificate;
    readonly X509Certificate2Collection? trusted;
    readonly bool requireClientCertificate;

    public Tls(TlsOptions options)
    {
        if (options.Enabled)
        {
            if (string.IsNullOrWhiteSpace(options.KeyPath)) throw new InvalidOperationException("Service:Tls:KeyPath is required with Service:Tls:CertificatePath");
            certificate = X509Certificate2.CreateFromPemFile(options.CertificatePath!, options.KeyPath);
        }
        if (!string.IsNullOrWhiteSpace(options.CaPath))
        {
            trusted = [];
            trusted.ImportFromPemFile(options.CaPath);
        }
        if (options.RequireClientCertificate && trusted is null)
            throw new InvalidOperationException("Service:Tls:RequireClientCertificate needs Service:Tls:CaPath (the CA that issues the callers' certificates)");
        requireClientCertificate = options.RequireClientCertificate;
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
            https.ClientCertificateValidation = (client, _, _) => IssuedByTrusted(client);
        });
    }

    /// <summary>
    /// The handler for this service's own gRPC clients: the server's certificate is checked against the system store
    /// or <see cref="TlsOptions.CaPath"/>, this service's certificate goes along for mutual TLS, and HTTP/2 keepalive
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
            handler.SslOptions.RemoteCertificateValidationCallback = (_, server, _, errors) =>
                errors == SslPolicyErrors.None || (errors == SslPolicyErrors.RemoteCertificateChainErrors && server is X509Certificate2 s && IssuedByTrusted(s));
        return handler;
    }

    bool IssuedByTrusted(X509Certificate2 presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented);
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
