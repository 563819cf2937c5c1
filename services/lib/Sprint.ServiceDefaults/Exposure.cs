using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// Who can reach a service, decided once from its settings: a loopback address (127.0.0.0/8, ::1, localhost) is this
/// machine's users only; anything else is a network. On a network a service without authentication refuses to start
/// (unless Service:Auth:AllowAnonymous), anonymous callers get <see cref="CallerLimits.AnonymousDefault"/>, and a
/// bearer credential goes only over TLS.
/// </summary>
public static class Exposure
{
    /// <summary>Whether <paramref name="host"/> (a Service:Host value or a URI's host) names this machine only.</summary>
    public static bool IsLoopback(string host)
    {
        host = host.Trim('[', ']');
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address);
    }

    /// <summary>Whether a bearer credential may be sent to <paramref name="uri"/>: over TLS, or to this machine.</summary>
    public static bool MayCarryKey(Uri uri) => uri.Scheme == Uri.UriSchemeHttps || IsLoopback(uri.Host);

    /// <summary>
    /// Whether an upstream address speaks TLS: https://, or a dns:/// name when this service has a certificate
    /// (Service:Tls), since a name resolves to addresses without a scheme.
    /// </summary>
    public static bool UsesTls(string address, bool tlsConfigured) =>
        IsDnsName(address) ? tlsConfigured : address.StartsWith("https:", StringComparison.OrdinalIgnoreCase);

    /// <summary>A "dns:///name:port" address (round robin over what the name resolves to).</summary>
    public static bool IsDnsName(string address) => address.StartsWith("dns:", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Refuses, at start-up, to serve a network without authentication: the message names the settings that fix it.
    /// </summary>
    public static void CheckListener(ServiceOptions options)
    {
        if (IsLoopback(options.Host) || options.Auth.Enabled || options.Auth.AllowAnonymous) return;
        throw new SettingsException(
            $"Service:Host={options.Host} is not a loopback address and Service:Auth has no API keys or JWT issuer, so anyone who reaches it " +
            "could call it: configure Service:Auth:ApiKeys (sprint auth new-key) or Service:Auth:Jwt, or set Service:Auth:AllowAnonymous=true " +
            "if something in front of it authenticates");
    }

    /// <summary>
    /// Refuses, at start-up, an upstream address the service key would reach in cleartext. <paramref name="address"/>
    /// may be "dns:///name:port", which is TLS exactly when Service:Tls is on.
    /// </summary>
    public static void CheckUpstream(string setting, string? address, AuthOptions auth, bool tls)
    {
        if (string.IsNullOrEmpty(auth.ServiceKey) || string.IsNullOrWhiteSpace(address)) return;
        string host = IsDnsName(address) ? new Uri(address).AbsolutePath.TrimStart('/').Split(':')[0] : new Uri(address).Host;
        if (UsesTls(address, tls) || IsLoopback(host)) return;
        throw new SettingsException(
            $"{setting}={address} would carry Service:Auth:ServiceKey in cleartext across the network: use https:// with Service:Tls " +
            "(a dns:/// address speaks TLS when Service:Tls has a certificate), or a loopback address");
    }

    /// <summary>Logs, once at start-up, that a network-facing service serves anonymous callers because the operator said so.</summary>
    internal sealed class AnonymousWarning(ServiceOptions options, ILogger<AnonymousWarning> log) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (!IsLoopback(options.Host) && !options.Auth.Enabled)
                log.LogWarning("serving anonymous callers on {Host} (Service:Auth:AllowAnonymous=true): anyone who reaches this address may call every RPC", options.Host);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
