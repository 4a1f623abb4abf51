// The OpenTelemetry Node SDK with every auto-instrumentation, as an app would start it with
// `--import`: each span is exported as it ends, over OTLP/HTTP (JSON) to
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

new NodeSDK({
  serviceName: 'traced-app',
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter())],
  // fs spans would be most of them, and say nothing here.
  instrumentations: [getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-fs': { enabled: false } })],
}).start();
