using Grpc.AspNetCore.Server.Model;
using Microsoft.Extensions.DependencyInjection;
using Sprint.ServiceDefaults;

namespace Sprint.Services.Tests;

/// <summary>
/// ParsedRequests replaces grpc-dotnet's binder, which has no public extension point: these pin what it relies on,
/// so a Grpc.AspNetCore upgrade that changes it fails here loudly instead of binding every method twice.
/// </summary>
public sealed class ParsedRequestsTests
{
    static List<Type?> Providers(IServiceCollection services) =>
        services.Where(d => d.ServiceType == typeof(IServiceMethodProvider<>)).Select(d => d.ImplementationType).ToList();

    [Fact]
    public void AddGrpc_registers_the_binder_it_replaces_and_the_replacement_leaves_one_binder()
    {
        var services = new ServiceCollection();
        services.AddGrpc();
        Assert.Contains(ParsedRequests.GrpcBinder, Providers(services).Select(t => t?.FullName));
        ParsedRequests.ReplaceBinder(services);
        Assert.DoesNotContain(ParsedRequests.GrpcBinder, Providers(services).Select(t => t?.FullName));
        Assert.Single(Providers(services), t => t == typeof(ParsedRequestsMethodProvider<>));
        // A second AddGrpc (Swagger's AddGrpcSwagger makes one) brings the binder back; replacing again is idempotent.
        services.AddGrpc();
        ParsedRequests.ReplaceBinder(services);
        Assert.DoesNotContain(ParsedRequests.GrpcBinder, Providers(services).Select(t => t?.FullName));
        Assert.Single(Providers(services), t => t == typeof(ParsedRequestsMethodProvider<>));
    }

    [Fact]
    public void Without_grpc_dotnets_binder_the_replacement_refuses_to_start()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ParsedRequests.ReplaceBinder(new ServiceCollection()));
        Assert.Contains("Grpc.AspNetCore changed", e.Message);
    }
}
