using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary>
/// Everything a deployment must not run without, made once per deployment (<c>sprint auth deploy-secrets</c>): the
/// client's API key, the gateway's service key (the upstream services get its hash only), the Redis password, and a
/// private CA with one certificate per service (the gateway's for serverAuth and clientAuth, the others' for
/// serverAuth only), by .NET's <see cref="CertificateRequest"/>. Written as files that Kubernetes (a kustomize
/// overlay with a secretGenerator) and compose (<c>--env-file</c>) read; the CA's key is not kept.
/// </summary>
static class DeploySecrets
{
    /// <summary>The Kubernetes Service name of each deployable, and the other names its certificate carries.</summary>
    static readonly (string Service, string[] Extra)[] Services =
    [
        ("gateway", ["localhost"]),
        ("embedding", ["embedding-headless"]),
        ("head-selector", ["head-selector-headless"]),
        ("verifier", ["verifier-headless"]),
        ("generator", ["generator-headless"]),
    ];

    const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";

    public static IReadOnlyList<string> Write(DirectoryInfo dir, string @namespace, string k8sBase, TimeSpan validity)
    {
        if (dir.Exists && dir.EnumerateFileSystemInfos().Any())
            throw new IOException($"--out: {dir.FullName} is not empty; secrets are made once per deployment (delete it to make new ones)");
        CreatePrivate(dir.FullName);
        var written = new List<string>();
        void Secret(string relative, string text)
        {
            var path = Path.Combine(dir.FullName, relative);
            CreatePrivate(Path.GetDirectoryName(path)!);
            using (File.Create(path)) { }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);   // 0600 before anything is in it
            File.WriteAllText(path, text);
            written.Add(relative);
        }

        var clientKey = ApiKeyHandler.NewKey();
        var serviceKey = ApiKeyHandler.NewKey();
        var redisPassword = Base64Url(RandomNumberGenerator.GetBytes(32));
        Secret("client.key", clientKey + "\n");
        Secret("gateway.env", Env(
            ("Service__Auth__ApiKeys__0__Name", "client"), ("Service__Auth__ApiKeys__0__Sha256", ApiKeyHandler.Hash(clientKey)),
            ("Service__Auth__ApiKeys__0__Services__0", "gateway"), ("Service__Auth__ServiceKey", serviceKey)));
        Secret("upstream.env", Env(
            ("Service__Auth__ApiKeys__0__Name", "gateway"), ("Service__Auth__ApiKeys__0__Sha256", ApiKeyHandler.Hash(serviceKey)),
            ("Service__Auth__ApiKeys__0__Services__0", "*"), ("Service__Auth__ApiKeys__0__Unlimited", "true")));
        Secret("redis.env", Env(("Redis__Password", redisPassword)));

        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Sprint deployment CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now + validity);
        var caPem = ca.ExportCertificatePem() + "\n";
        Secret("tls/ca.crt", caPem);
        foreach (var (service, extra) in Services)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=" + service, key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            foreach (var name in new[] { service, $"{service}.{@namespace}", $"{service}.{@namespace}.svc", $"{service}.{@namespace}.svc.cluster.local" }.Concat(extra))
                names.AddDnsName(name);
            if (extra.Contains("localhost")) names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            // The gateway calls the others (clientAuth) and is called (serverAuth); the others are only called.
            string[] usages = service == "gateway" ? [ServerAuth, ClientAuth] : [ServerAuth];
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages.Select(u => new Oid(u))], true));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            using var certificate = request.Create(ca, now.AddMinutes(-5), now + validity, RandomNumberGenerator.GetBytes(16));
            Secret($"tls/{service}/tls.crt", certificate.ExportCertificatePem() + "\n");
            Secret($"tls/{service}/tls.key", key.ExportPkcs8PrivateKeyPem() + "\n");
            Secret($"tls/{service}/ca.crt", caPem);
        }

        // Compose bind-mounts the 0600 files as they are, so the containers run as their owner — never as root: made by
        // root, they are given to the images' own "app" user (1654).
        string uid = OperatingSystem.IsWindows() ? AppUser : UnixId("-u"), gid = OperatingSystem.IsWindows() ? AppUser : UnixId("-g");
        if (uid == "0")
        {
            Run("chown", "-R", $"{AppUser}:{AppUser}", dir.FullName);
            (uid, gid) = (AppUser, AppUser);
        }
        Secret("compose.env", Env(
            ("SPRINT_CLIENT_KEY_SHA256", ApiKeyHandler.Hash(clientKey)), ("SPRINT_SERVICE_KEY", serviceKey),
            ("SPRINT_SERVICE_KEY_SHA256", ApiKeyHandler.Hash(serviceKey)), ("SPRINT_REDIS_PASSWORD", redisPassword),
            ("SPRINT_TLS", Path.Combine(dir.FullName, "tls")), ("SPRINT_UID", uid), ("SPRINT_GID", gid)));
        if (uid == AppUser && !OperatingSystem.IsWindows() && UnixId("-u") == "0") Run("chown", $"{AppUser}:{AppUser}", Path.Combine(dir.FullName, "compose.env"));

        var tlsSecrets = string.Concat(Services.Select(s => $"""
              - name: sprint-tls-{s.Service}
                files: [tls.crt=tls/{s.Service}/tls.crt, tls.key=tls/{s.Service}/tls.key, ca.crt=tls/{s.Service}/ca.crt]

            """));
        File.WriteAllText(Path.Combine(dir.FullName, "kustomization.yaml"), $"""
            # Made by sprint auth deploy-secrets: the base in {k8sBase} with this deployment's Secrets.
            # kubectl apply -k {dir.FullName}
            apiVersion: kustomize.config.k8s.io/v1beta1
            kind: Kustomization
            resources:
              - {Path.GetRelativePath(dir.FullName, Path.GetFullPath(k8sBase)).Replace('\\', '/')}
            namespace: {@namespace}
            generatorOptions:
              disableNameSuffixHash: true
            secretGenerator:
              - name: sprint-gateway-auth
                envs: [gateway.env]
              - name: sprint-upstream-auth
                envs: [upstream.env]
              - name: sprint-redis
                envs: [redis.env]
            {tlsSecrets}
            """);
        written.Add("kustomization.yaml");
        return written;
    }

    /// <summary>A folder only its owner may enter (0700).</summary>
    static void CreatePrivate(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>The aspnet image's "app" user and group.</summary>
    const string AppUser = "1654";

    static string UnixId(string which) => Run("id", which);

    static string Run(string file, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new IOException($"{file} {string.Join(' ', args)} exited {process.ExitCode}");
        return text;
    }

    static string Env(params (string Key, string Value)[] pairs) => string.Concat(pairs.Select(p => $"{p.Key}={p.Value}\n"));

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
