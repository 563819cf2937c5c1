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
        return new Command("auth", "API keys for the suite's authentication") { newKey, hash };
    }
}
