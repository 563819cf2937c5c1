using System.CommandLine;
using Sprint.ServiceDefaults;

namespace Sprint.Cli;

/// <summary><c>sprint auth</c>: API keys for Service:Auth — a new key with the hash to configure, or the hash of a key.</summary>
static class AuthCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "Who holds the key", DefaultValueFactory = _ => "client" };
        var services = new Option<string>("--services") { Description = "Comma-separated services the key may call: gateway, generator, embedding, selector, verifier or *", DefaultValueFactory = _ => "gateway" };
        var newKey = new Command("new-key", "Print a new random API key and the configuration that accepts it (the key itself is shown once, the configuration holds its hash)")
        {
            name, services,
        };
        newKey.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var key = ApiKeyHandler.NewKey();
            output.WriteLine($"key:    {key}");
            output.WriteLine($"sha256: {ApiKeyHandler.Hash(key)}");
            output.WriteLine("configuration (environment variables; index 0 is the key's place in the list):");
            output.WriteLine($"  Service__Auth__ApiKeys__0__Name={parse.GetValue(name)}");
            output.WriteLine($"  Service__Auth__ApiKeys__0__Sha256={ApiKeyHandler.Hash(key)}");
            var list = parse.GetValue(services)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (int i = 0; i < list.Length; i++) output.WriteLine($"  Service__Auth__ApiKeys__0__Services__{i}={list[i]}");
            return 0;
        });
        // The key comes on standard input, never as an argument: argv is visible to every user of the machine (ps) and
        // lands in shell history.
        var hash = new Command("hash-key", "Print the SHA-256 to configure for a key read from standard input (e.g. printf %s \"$KEY\" | sprint auth hash-key)");
        hash.SetAction(parse =>
        {
            var key = (Console.In.ReadLine() ?? "").Trim();
            if (key.Length == 0)
            {
                parse.InvocationConfiguration.Error.WriteLine("error: no key on standard input (printf %s \"$KEY\" | sprint auth hash-key)");
                return 2;
            }
            parse.InvocationConfiguration.Output.WriteLine(ApiKeyHandler.Hash(key));
            return 0;
        });
        var outDir = new Option<DirectoryInfo>("--out") { Description = "Folder to write (must be empty or absent), e.g. deploy/secrets", Required = true };
        var ns = new Option<string>("--namespace") { Description = "Kubernetes namespace the certificates name", DefaultValueFactory = _ => "sprint" };
        var k8sBase = new Option<string>("--k8s-base") { Description = "The kustomize base the overlay deploys", DefaultValueFactory = _ => RepositoryPaths.Resolve("deploy/k8s") };
        var days = new Option<int>("--days") { Description = "Validity of the certificates", DefaultValueFactory = _ => 365 };
        var deploy = new Command("deploy-secrets", "Make a deployment's secrets: the client's API key, the service key (the upstreams get its hash), " +
            "the Redis password and a private CA with a certificate per service; written for kubectl apply -k OUT and docker compose --env-file OUT/compose.env")
        {
            outDir, ns, k8sBase, days,
        };
        deploy.SetAction(parse =>
        {
            var dir = parse.GetValue(outDir)!;
            IReadOnlyList<string> written;
            try { written = DeploySecrets.Write(dir, parse.GetValue(ns)!, parse.GetValue(k8sBase)!, TimeSpan.FromDays(parse.GetValue(days))); }
            catch (IOException e)
            {
                parse.InvocationConfiguration.Error.WriteLine("error: " + e.Message);
                return 2;
            }
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"wrote {written.Count} files to {dir.FullName} (secrets: mode 0600; keep the folder out of version control):");
            output.WriteLine($"  client.key          the API key for clients (sprint solve --api-key-file {Path.Combine(dir.FullName, "client.key")})");
            output.WriteLine("  gateway.env         the gateway's settings: the client key's hash and the service key it sends upstream");
            output.WriteLine("  upstream.env        the other services' settings: the service key's hash only");
            output.WriteLine("  redis.env           the Redis password");
            output.WriteLine("  tls/                the CA certificate and one certificate per service (the CA's key is not kept)");
            output.WriteLine($"  kustomization.yaml  kubectl apply -k {dir.FullName}");
            output.WriteLine($"  compose.env         docker compose --env-file {Path.Combine(dir.FullName, "compose.env")} up --build");
            return 0;
        });
        return new Command("auth", "API keys for the suite's authentication, and a deployment's secrets") { newKey, hash, deploy };
    }
}
