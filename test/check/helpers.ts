/** The compatibility report's tests: running the real `era-check` command, reading its report. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Report, StepName, StepStatus } from '../../src/check/report';

const ROOT = path.join(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'era-check.js');
export const TLS_DIR = path.join(ROOT, 'test', 'fixtures', 'tls');

/** Credentials no report may show, whatever the platform does with them. */
export const PASSWORD = 'S3cret-Pa55-word';
export const TOKEN = 'T0ken-Secr3t-4242';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The bin runs the compiled report: `npm test` builds first. */
export function assertBuilt(): void {
  assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'check', 'cli.js')), 'dist/check/cli.js is missing: run npm run build first');
}

/** `era-check args…` as a child process, stdin not a terminal, with only `env` (and PATH) in its environment. */
export function runCheck(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The user-mode arguments for a target, the password in ERA_PASSWORD. */
export function userArgs(url: string, ...more: string[]): string[] {
  return ['--url', url, '--domain', 'demo.local', '--login', 'operator', '--password-env', 'ERA_PASSWORD', ...more];
}

export const PASSWORD_ENV = { ERA_PASSWORD: PASSWORD };

/** `STATUS  name  summary` of one step in the text report. */
export function stepLine(stdout: string, name: StepName): { status: string; summary: string } {
  const line = stdout.split('\n').find((l) => new RegExp(`^[A-Z]+\\s+${name}\\s`).test(l));
  assert.ok(line, `no line for step ${name} in:\n${stdout}`);
  const [, status, summary] = /^([A-Z]+)\s+\S+\s+(.*)$/.exec(line)!;
  return { status: status!, summary: summary! };
}

/** Nothing a report may never show: the secrets, a stack trace, a phone number, a uuid. */
export function assertClean(run: Run, secrets: readonly string[] = [PASSWORD, TOKEN]): void {
  for (const secret of secrets) {
    assert.ok(!run.stdout.includes(secret), `a secret in stdout:\n${run.stdout}`);
    assert.ok(!run.stderr.includes(secret), `a secret in stderr:\n${run.stderr}`);
  }
  assert.doesNotMatch(run.stderr, /\n\s+at \S/, 'a stack trace on stderr');
  assert.doesNotMatch(run.stdout, /\n\s+at \S+ \(/, 'a stack trace on stdout');
  assert.doesNotMatch(run.stdout, /\+?\d{7,}/, 'a phone number or an id in the report');
  assert.doesNotMatch(run.stdout, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i, 'a uuid in the report');
}

/** A failing report: exit code 1, the step failed with words matching `why`, nothing secret shown. */
export function assertFailsAt(run: Run, name: StepName, why: RegExp): void {
  assert.equal(run.code, 1, `exit code\n${run.stdout}${run.stderr}`);
  const step = stepLine(run.stdout, name);
  assert.equal(step.status, 'FAIL', run.stdout);
  assert.match(step.summary, why);
  assertClean(run);
}

export function statusOf(report: Report, name: StepName): StepStatus | undefined {
  return report.steps.find((s) => s.name === name)?.status;
}
