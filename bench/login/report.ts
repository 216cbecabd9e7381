// The login benchmark's printed tables.
import { table } from '../../scripts/src/table.js';
import { type Options } from './options.js';

import { type StepResult } from './step.js';

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
export const ms = (value: number | null | undefined): string =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(value < 10 ? 1 : 0);

export function printResults(steps: StepResult[], opts: Options): void {
  console.log('\nClient side (latency of every response, ms; request written → response read)');
  console.log(
    table(
      [
        'step',
        'arrival',
        'target/s',
        'achieved/s',
        'ok',
        'failed',
        'p50',
        'p95',
        'p99',
        'max',
        'peak/100ms',
        'in flight',
        'verdict',
      ],
      steps.map((step) => [
        step.name,
        step.arrival === 'burst' ? `burst (${step.connections} conns)` : 'paced',
        String(step.targetRate),
        step.achievedRate.toFixed(1),
        String(step.ok),
        String(step.failed),
        ms(step.latency.p50),
        ms(step.latency.p95),
        ms(step.latency.p99),
        ms(step.latency.max),
        String(step.peakSendsPer100ms),
        String(step.peakInFlight),
        step.meetsTarget === undefined ? (step.informational ? 'info' : '') : step.meetsTarget ? 'PASS' : 'FAIL',
      ]),
    ),
  );
  for (const step of steps) {
    if (step.achievedRate < 0.95 * step.targetRate) {
      console.log(
        `  ${step.name}: only ${step.achievedRate.toFixed(1)}/s sent: responses slower than ${step.arrival === 'paced' ? '1 s held each connection back' : "a connection's share of the second"}, so the latencies are a lower bound`,
      );
    }
    if ((step.cpu.coresOther ?? 0) > 0.25) {
      console.log(
        `  ${step.name}: other processes used ${step.cpu.coresOther!.toFixed(2)} cores meanwhile: the machine was not quiet, rerun`,
      );
    }
  }
  const failing = steps.filter((step) => step.failed);
  for (const step of failing) {
    console.log(
      `  ${step.name} failures: ${JSON.stringify(step.failures)} request errors: ${step.requestErrors} (timeouts ${step.timeouts})`,
    );
  }
  for (const step of steps) {
    if (step.autocannonLatency) {
      const { p50, p97_5, p99, max } = step.autocannonLatency;
      console.log(
        `  ${step.name}: autocannon's own histogram (coordinated-omission corrected) says p50 ${p50} p97.5 ${p97_5} p99 ${p99} max ${max}`,
      );
    }
  }

  console.log('\nServer side (means per /graphql request; CPU in cores = CPU seconds / wall seconds)');
  console.log(
    table(
      [
        'step',
        'gateway ms',
        'identity ms',
        'SQL/login',
        'SQL ms',
        'main',
        'pool',
        'V8 helpers',
        'platform',
        'gateway proc',
        'postgres',
        'autocannon',
        'other',
        'GC n',
        'GC ms',
        'GC>10ms',
        'loop p99',
        'loop max',
      ],
      steps.map((step) => {
        const cores = (seconds: number | undefined): string =>
          seconds === undefined ? '-' : (seconds / step.wallSec).toFixed(2);
        const s = step.server;
        return [
          step.name,
          ms(s?.gatewayMeanMs),
          ms(s?.identityMeanMs),
          s?.identityQueriesPerLogin?.toFixed(1) ?? '-',
          ms(s?.identityDbMsPerLogin),
          cores(step.cpu.platform?.mainThread),
          cores(step.cpu.platform?.threadPool),
          cores(step.cpu.platform?.otherThreads),
          step.cpu.coresPlatform?.toFixed(2) ?? '-',
          step.cpu.coresGateway?.toFixed(2) ?? '-',
          step.cpu.coresPostgres?.toFixed(2) ?? '-',
          step.cpu.coresLoadGenerator.toFixed(2),
          step.cpu.coresOther?.toFixed(2) ?? '-',
          String(s?.gc.count ?? '-'),
          ms(s?.gc.totalMs),
          String(s?.gc.over10ms ?? '-'),
          ms(s?.eventLoopDelay.p99),
          ms(s?.eventLoopDelay.max),
        ];
      }),
    ),
  );
  const profiled = steps[0];
  for (const [who, profile] of [
    ['Platform', profiled?.profile],
    ['Standalone gateway', profiled?.gatewayProfile],
  ] as const) {
    if (!profile) continue;
    console.log(
      `\n${who} main thread during "${profiled!.name}" (${profile.windowed ? 'step window' : 'whole run'}; ${(profile.totalMs / 1000).toFixed(1)} s of samples, self time by category)`,
    );
    console.log(
      table(
        ['category', 'ms', 'share'],
        profile.self.map((row) => [row.category, row.ms.toFixed(0), `${(row.share * 100).toFixed(1)}%`]),
      ),
    );
  }
  const verdictStep = steps.find((step) => step.meetsTarget !== undefined);
  if (verdictStep) {
    console.log(
      `\nTarget: p95 < ${opts.p95} ms at ${opts.rate} logins/s with no failures → ${verdictStep.meetsTarget ? 'MET' : 'NOT MET'} (p95 ${ms(verdictStep.latency.p95)} ms, ${verdictStep.achievedRate.toFixed(1)}/s, ${verdictStep.failed} failed)`,
    );
  }
}
