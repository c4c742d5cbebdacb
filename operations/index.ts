// The operations room: what on-call people look at. The status page (run history plus the processes' /metrics),
// run reports (terminal, JSON, one self-contained HTML file) and the workflow metrics alerts need. It reads the
// store through workflows and storage and the other processes only over HTTP.
export { histogramQuantile, parseMetricsText, scrapeMetrics, samples, type Sample, type Scrape } from './prometheus-scrape.ts';
export { runFacts, type RunFacts, type StageFacts, type BadRecordReason, type RequestCount, type BatchFileFact } from './run-facts.ts';
export { runReportHtml, runReportText } from './run-report.ts';
export { runTimelineSvg } from './run-timeline-svg.ts';
export { StatusCollector, type MetricsSource, type StatusSnapshot, type SourceStatus } from './status-model.ts';
export { startStatusServer, type StatusServer, type StatusServerOptions } from './status-server.ts';
export { workflowRegistry } from './workflow-metrics.ts';
