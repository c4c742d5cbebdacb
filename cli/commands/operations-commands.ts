// `courier status` and `courier report`: the status page (run history plus the processes' /metrics) and one run's
// report as text, JSON or a self-contained HTML file.
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { CourierConfig } from '../../config/index.ts';
import { runFacts, runReportHtml, runReportText, startStatusServer, StatusCollector, type MetricsSource } from '../../operations/index.ts';
import { listRuns } from '../../workflows/index.ts';
import type { RegisterCommands } from '../cli-context.ts';
import { wholeNumber } from '../workflow-environment.ts';

const port = (value: string): number => {
  const n = wholeNumber(0)(value);
  if (n > 65535) throw new InvalidArgumentError(`expected a port 0-65535, got ${value}`);
  return n;
};

/** The endpoints the status page reads: status.metrics, else the sync and listen ports set in the config. */
export function metricsSources(config: CourierConfig): MetricsSource[] {
  if (config.status.metrics !== undefined) return config.status.metrics.map((m) => ({ process: m.process, url: m.url }));
  const local = (host: string) => (host === '0.0.0.0' ? '127.0.0.1' : host);
  const out: MetricsSource[] = [];
  if (config.syncer.metricsPort !== undefined) out.push({ process: 'sync', url: `http://${local(config.syncer.metricsHost)}:${config.syncer.metricsPort}/metrics` });
  if (config.listener?.metricsPort !== undefined) out.push({ process: 'listen', url: `http://${local(config.listener.metricsHost)}:${config.listener.metricsPort}/metrics` });
  return out;
}

/** Registers `courier status` and `courier report`. */
export const registerOperationsCommands: RegisterCommands = (program, context) => {
  program
    .command('status')
    .description('what runs and processes are doing: once as text/JSON, or with --serve as a self-refreshing local web page')
    .option('--serve', 'serve the status page until SIGINT/SIGTERM', false)
    .addOption(new Option('--port <n>', 'port of the page (default: status.port, 8070)').argParser(port))
    .action(async (opts: { serve: boolean; port?: number }) => {
      const ctx = context();
      const { config } = await ctx.loadConfig();
      const sources = metricsSources(config);
      if (!opts.serve) {
        const snapshot = await new StatusCollector(config.storage.root, sources, config.status.runs).collect();
        ctx.print(snapshot, () =>
          [
            ...snapshot.runs.map((r) => `${r.workflow} ${r.period}  ${r.state}  ${r.runId}  ${r.stages.map((s) => `${s.name}:${s.state}`).join(' ')}`),
            ...snapshot.sources.map((s) => `${s.process}  ${s.url}  ${s.up ? 'up' : `DOWN: ${s.error}`}`),
          ].join('\n') || 'no runs and no metrics endpoints',
        );
        return;
      }
      const server = await startStatusServer({
        storageRoot: config.storage.root,
        sources,
        port: opts.port ?? config.status.port,
        host: config.status.host,
        refreshSeconds: config.status.refreshSeconds,
        runsShown: config.status.runs,
      });
      ctx.logger.info({ url: server.url, sources: sources.length }, 'status page serving');
      ctx.print({ url: server.url, port: server.port, sources }, `courier status: ${server.url} (${sources.length} metrics endpoint(s)); SIGTERM or Ctrl-C stops`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });

  program
    .command('report')
    .description('one run: stages, durations, counters, bad records and quarantines, requests, batch files, deliveries')
    .argument('<run>', 'a run id (from courier runs), or latest')
    .option('--html <file>', 'also write the report as one self-contained HTML file (opens from disk)')
    .action(async (runId: string, opts: { html?: string }) => {
      const ctx = context();
      const { config } = await ctx.loadConfig();
      const { runs, problems } = await listRuns(config.storage.root);
      for (const p of problems) ctx.logger.warn({ uri: p.uri }, p.problem);
      const run = runId === 'latest' ? runs[0] : runs.find((r) => r.runId === runId);
      if (run === undefined) {
        return ctx.usageError(
          runs.length === 0
            ? `no runs recorded under ${config.storage.root}/_runs; run a workflow first (courier run <workflow>)`
            : `no run "${runId}" under ${config.storage.root}/_runs; courier runs lists them (latest is ${runs[0]?.runId})`,
        );
      }
      const facts = runFacts(run);
      let htmlFile: string | undefined;
      if (opts.html !== undefined) {
        htmlFile = path.resolve(ctx.io.cwd, opts.html);
        await fs.writeFile(htmlFile, runReportHtml(facts));
        ctx.logger.info({ runId: run.runId, workflow: run.workflow, file: htmlFile }, 'HTML report written');
      }
      ctx.print({ ...facts, ...(htmlFile !== undefined && { htmlFile }) }, () => `${runReportText(facts)}${htmlFile ? `\n\nHTML report: file://${htmlFile}` : ''}`);
    });
};
