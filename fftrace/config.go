package fftrace

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	ff "github.com/flowfabric-go/flowfabric"
)

// Exporter values (OTEL_TRACES_EXPORTER).
const (
	ExporterOTLP = "otlp"
	ExporterNone = "none"
)

// DefaultServiceName is the service.name of the spans unless
// OTEL_SERVICE_NAME (or Config.ServiceName) says otherwise.
const DefaultServiceName = "flowfabric"

// Config says whether and where spans are exported. The zero Config is
// off. It follows the OpenTelemetry environment conventions
// (ConfigFromEnv reads them): tracing is on when Exporter is "otlp", or
// when Exporter is empty and an OTLP endpoint is set.
type Config struct {
	// Exporter is "otlp", "none" or "" (otlp when an endpoint is set,
	// else off). OTEL_TRACES_EXPORTER.
	Exporter string
	// Endpoint is the OTLP/HTTP base URL (e.g. http://collector:4318);
	// spans go to its path /v1/traces. OTEL_EXPORTER_OTLP_ENDPOINT.
	Endpoint string
	// TracesEndpoint is the full URL spans are posted to; it wins over
	// Endpoint. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
	TracesEndpoint string
	// Protocol must be "" or "http/protobuf" (the only one built in).
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL.
	Protocol string
	// Disabled switches tracing off whatever the rest says.
	// OTEL_SDK_DISABLED=true.
	Disabled bool
	// ServiceName is the default service.name; OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES, read by the SDK, win over it.
	ServiceName string
}

// ConfigFromEnv reads the OTEL_* variables Config documents through
// getenv (os.Getenv in a program). Headers, timeouts, TLS, compression
// and the sampler (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, …)
// are read by the OpenTelemetry SDK itself when Start builds it.
func ConfigFromEnv(getenv func(string) string) Config {
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	return Config{
		Exporter:       strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")),
		Endpoint:       getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		TracesEndpoint: getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
		Protocol:       proto,
		Disabled:       strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true"),
	}
}

// Enabled reports whether c switches tracing on, or an error for a value
// it cannot honour (matching ff.ErrInvalidInput).
func (c Config) Enabled() (bool, error) {
	if c.Disabled {
		return false, nil
	}
	switch c.Exporter {
	case ExporterNone:
		return false, nil
	case "":
		if c.Endpoint == "" && c.TracesEndpoint == "" {
			return false, nil
		}
	case ExporterOTLP:
	default:
		return false, ff.Validation(ff.ErrInvalidInput, "traces exporter %q: want otlp or none", c.Exporter)
	}
	if c.Protocol != "" && c.Protocol != "http/protobuf" {
		return false, ff.Validation(ff.ErrInvalidInput, "OTLP protocol %q: only http/protobuf is built in", c.Protocol)
	}
	return true, nil
}

// Provider is a started tracer provider. Shutdown flushes the spans still
// buffered and stops the exporter; call it once, after the engine
// stopped. The provider of an off Config is the no-op one, whose
// Shutdown does nothing.
type Provider struct {
	trace.TracerProvider
	shutdown func(context.Context) error
}

// Shutdown flushes and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// Enabled reports whether p records spans.
func (p *Provider) Enabled() bool { return p.shutdown != nil }

// Start builds the tracer provider c describes: the no-op provider when c
// is off, else an SDK provider batching spans to OTLP/HTTP. It does not
// set the OpenTelemetry globals.
func Start(ctx context.Context, c Config) (*Provider, error) {
	on, err := c.Enabled()
	if err != nil || !on {
		return &Provider{TracerProvider: noop.NewTracerProvider()}, err
	}
	opts, err := c.exporterOptions()
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := c.resource(ctx)
	if err != nil {
		return nil, errors.Join(err, exp.Shutdown(ctx))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Provider{TracerProvider: tp, shutdown: tp.Shutdown}, nil
}

// exporterOptions turns the endpoints into exporter options; with none
// set, the exporter reads its own defaults (http://localhost:4318).
func (c Config) exporterOptions() ([]otlptracehttp.Option, error) {
	raw := c.TracesEndpoint
	if raw == "" && c.Endpoint != "" {
		raw = strings.TrimRight(c.Endpoint, "/") + "/v1/traces"
	}
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, ff.Validation(ff.ErrInvalidInput, "OTLP endpoint %q: want an http:// or https:// URL", raw)
	}
	return []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.String())}, nil
}

// resource names the service: ServiceName (default "flowfabric"), then
// the environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) over it.
func (c Config) resource(ctx context.Context) (*resource.Resource, error) {
	name := c.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", name)), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	return res, nil
}
