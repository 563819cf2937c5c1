using System.Reflection;
using System.Text;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Sprint.ServiceDefaults;

/// <summary>
/// grpc-dotnet parses a request before any interceptor runs, and a message that does not parse (truncated, a bad
/// wire type, invalid UTF-8 in a string) would end the call as UNKNOWN "Exception was thrown by handler." with an
/// error log and its stack trace. This provider binds every gRPC service of the process the way grpc-dotnet's own
/// binder does — the generated <c>BindService</c> names the methods, the service class's overrides handle them, the
/// class's and method's attributes become endpoint metadata — but with a request marshaller that turns a parse
/// failure into INVALID_ARGUMENT "request: the message could not be parsed (…)" and one short log line.
/// <see cref="SprintServiceHost.AddGrpcDefaults"/> puts it in place of grpc-dotnet's binder.
/// </summary>
public static class ParsedRequests
{
    /// <summary>
    /// Puts <see cref="ParsedRequestsMethodProvider{TService}"/> in place of grpc-dotnet's binder. Call it after every
    /// <c>AddGrpc()</c> of the process: each one (Swagger's <c>AddGrpcSwagger</c> makes one too) adds the binder back,
    /// and with both every method would be mapped twice (an ambiguous route on every call).
    /// </summary>
    /// <remarks>
    /// grpc-dotnet has no public switch for its binder: it is found by its internal type name. When an upgrade renames
    /// or replaces it, this throws at start-up naming the providers it found (and ParsedRequestsTests fails) rather
    /// than letting both bind every method.
    /// </remarks>
    public static void ReplaceBinder(IServiceCollection services)
    {
        var providers = services.Where(d => d.ServiceType == typeof(IServiceMethodProvider<>)).ToList();
        var binders = providers.Where(d => d.ImplementationType?.FullName == GrpcBinder).ToList();
        if (binders.Count == 0 && !providers.Any(d => d.ImplementationType == typeof(ParsedRequestsMethodProvider<>)))
            throw new InvalidOperationException($"grpc-dotnet's method binder {GrpcBinder} is not registered (found: " +
                string.Join(", ", providers.Select(d => d.ImplementationType?.FullName)) + "): Grpc.AspNetCore changed; update ParsedRequests");
        foreach (var binder in binders) services.Remove(binder);
        services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IServiceMethodProvider<>), typeof(ParsedRequestsMethodProvider<>)));
    }

    /// <summary>The internal type <c>AddGrpc()</c> registers to bind generated services (Grpc.AspNetCore.Server 2.x).</summary>
    public const string GrpcBinder = "Grpc.AspNetCore.Server.Model.Internal.BinderServiceMethodProvider`1";
}

public sealed class ParsedRequestsMethodProvider<TService>(ILogger<ParsedRequestsMethodProvider<TService>> log)
    : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        var bindAttribute = typeof(TService).GetCustomAttribute<BindServiceMethodAttribute>(inherit: true);
        if (bindAttribute is null) return;   // not a generated service: nothing to bind
        var bind = bindAttribute.BindType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Single(m => m.Name == bindAttribute.BindMethodName && m.GetParameters() is [var b, _] && b.ParameterType == typeof(ServiceBinderBase));
        bind.Invoke(null, [new Binder(context, bind.GetParameters()[1].ParameterType, log), null]);
    }

    sealed class Binder(ServiceMethodProviderContext<TService> context, Type baseType, ILogger log) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
            context.AddUnaryMethod(Parsed(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<ServerStreamingServerMethod<TService, TRequest, TResponse>>(method.Name,
                typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddServerStreamingMethod(Parsed(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<ClientStreamingServerMethod<TService, TRequest, TResponse>>(method.Name,
                typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            context.AddClientStreamingMethod(Parsed(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Handler<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(method.Name,
                typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(Parsed(method), metadata, invoker);
        }

        /// <summary>The service class's override of the generated base method, as an open-instance delegate, and its endpoint metadata.</summary>
        (TDelegate Invoker, List<object> Metadata) Handler<TDelegate>(string name, params Type[] parameters) where TDelegate : Delegate
        {
            var handler = typeof(TService).GetMethod(name, BindingFlags.Public | BindingFlags.Instance, parameters)
                ?? throw new InvalidOperationException($"{typeof(TService).Name} has no method {name}");
            if (handler.GetBaseDefinition().DeclaringType != baseType)
                throw new InvalidOperationException($"{typeof(TService).Name}.{name} does not override {baseType.Name}.{name}");
            var metadata = new List<object>();
            metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));   // the class first: the method's attributes win
            metadata.AddRange(handler.GetCustomAttributes(inherit: true));
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), handler), metadata);
        }

        Method<TRequest, TResponse> Parsed<TRequest, TResponse>(Method<TRequest, TResponse> method)
        {
            var inner = method.RequestMarshaller;
            var marshaller = new Marshaller<TRequest>(inner.ContextualSerializer, context =>
            {
                try { return inner.ContextualDeserializer(context); }
                catch (Exception e) when (e is InvalidProtocolBufferException or DecoderFallbackException)
                {
                    string reason = Core.Quote.Short(e.Message);
                    log.LogInformation("{Method}: the request could not be parsed ({Reason})", method.FullName, reason);
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"request: the message could not be parsed ({reason})"));
                }
            });
            return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
        }
    }
}
