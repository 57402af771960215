/**
 * The report's shape (stable: `era-check --json` and the editor's "Check installation" give
 * it), its outcome and exit code, and the text a person reads and pastes.
 */

export type StepStatus = 'pass' | 'differs' | 'fail' | 'skipped';

/** The steps, in the order they run and are shown. */
export const STEP_NAMES = ['config', 'tls', 'login', 'upgrade', 'setup', 'socket-login', 'connection-info', 'subscribe', 'listen', 'call-order', 'call-list', 'test-call'] as const;

export type StepName = (typeof STEP_NAMES)[number];

export interface Step {
  name: StepName;
  status: StepStatus;
  /** One line: what happened, with the platform's own words where it had any. */
  summary: string;
  details: string[];
}

export type Outcome = 'pass' | 'differs' | 'fail';

export interface Report {
  /** The package's version. */
  version: string;
  target: { scheme: 'http' | 'https' | 'unknown'; host: string; authMode: 'user' | 'token' };
  /** How long the report listened for pushes. */
  listenSeconds: number;
  /** Whether a test call was placed (only when asked for). */
  testCall: boolean;
  steps: Step[];
  outcome: Outcome;
}

export function outcomeOf(steps: readonly Step[]): Outcome {
  if (steps.some((s) => s.status === 'fail')) return 'fail';
  return steps.some((s) => s.status === 'differs') ? 'differs' : 'pass';
}

/** 0: everything passed; 3: nothing failed but something differs from the documentation; 1: a step failed. */
export function exitCodeOf(outcome: Outcome): 0 | 1 | 3 {
  return outcome === 'pass' ? 0 : outcome === 'differs' ? 3 : 1;
}

const LABELS: Record<StepStatus, string> = { pass: 'PASS', differs: 'DIFFERS', fail: 'FAIL', skipped: 'SKIPPED' };
const INDENT = ' '.repeat(9);

const CLOSING: Record<Outcome, string> = {
  pass: 'Every step passed: this installation speaks the protocol as the package expects.',
  differs: 'Nothing failed, but some steps differ from the platform\'s documentation (DIFFERS): please send this report to the package\'s issue tracker.',
  fail: 'Some steps failed (FAIL): see the troubleshooting table in the README, section "Connecting to a real Era for the first time".',
};

/** The report as a person reads it: a header, one line per step with its details indented, a verdict. */
export function formatText(report: Report): string {
  const { target } = report;
  const lines = [
    `Era compatibility report (era-check ${report.version})`,
    `Target: ${target.scheme === 'unknown' ? '(no valid URL)' : `${target.scheme}://${target.host}`}, ${target.authMode === 'user' ? 'user login' : 'integration token'}`,
    '  (the host may be removed before pasting; the report holds no password, token, number, id or field value)',
    `Listen window: ${report.listenSeconds} s. ${report.testCall ? 'A test call was placed and hung up, as asked.' : 'Read-only: no call placed, nothing changed.'}`,
    '',
  ];
  const width = Math.max(...report.steps.map((s) => s.name.length));
  for (const step of report.steps) {
    lines.push(`${LABELS[step.status].padEnd(8)} ${step.name.padEnd(width)}  ${step.summary}`);
    for (const detail of step.details) lines.push(`${INDENT}${detail}`);
  }
  lines.push('', `${CLOSING[report.outcome]} (exit code ${exitCodeOf(report.outcome)})`);
  return `${lines.join('\n')}\n`;
}
