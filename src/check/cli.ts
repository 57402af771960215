/**
 * `era-check`: the compatibility report on the command line. Secrets come from an environment
 * variable or a hidden prompt, never from the arguments; whatever happens, the output is a
 * report or one line of error, never a stack trace, and never holds a secret.
 */
import { readFileSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { parseArgs, SYNOPSIS, UsageError, USAGE, type CliArgs } from './args';
import { message } from './context';
import { promptHidden } from './prompt';
import { exitCodeOf, formatText } from './report';
import { runReport, type CheckOptions } from './run';
import { makeScrub } from './scrub';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
}

const USAGE_ERROR = 2;

/** Takes the secrets of the run out of a text; set once they are known, for the last-resort error line too. */
let hideSecrets = (text: string): string => text;

function fromEnv(env: NodeJS.ProcessEnv, variable: string): string {
  const value = env[variable];
  if (value === undefined || value === '') throw new UsageError(`the environment variable ${variable} is not set or empty`);
  return value;
}

async function password(args: CliArgs, io: CliIo): Promise<string> {
  if (args.passwordEnv !== undefined) return fromEnv(io.env, args.passwordEnv);
  if (!(io.stdin instanceof ReadStream) || !io.stdin.isTTY) {
    throw new UsageError('no password: name the environment variable that holds it with --password-env VAR (it cannot be asked for: this is not a terminal)');
  }
  const typed = await promptHidden(`Password for ${args.login}: `, io.stdin, io.stderr).catch(() => {
    throw new UsageError('no password given');
  });
  if (typed === '') throw new UsageError('no password given');
  return typed;
}

function caFrom(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the CA file given with --ca (${(err as { code?: string }).code ?? message(err)})`);
  }
}

async function checkOptions(args: CliArgs, io: CliIo): Promise<CheckOptions> {
  const ca = caFrom(args.caFile);
  const user = args.login !== undefined;
  return {
    client: {
      url: args.url,
      domain: args.domain,
      authMode: user ? 'user' : 'token',
      login: args.login,
      password: user ? await password(args, io) : undefined,
      token: user ? undefined : fromEnv(io.env, args.tokenEnv!),
      verifyTls: !args.insecure,
      ca,
    },
    listenSeconds: args.listenSeconds,
    testCall: args.testCall === undefined ? undefined : { to: args.testCall, from: args.from! },
  };
}

/** Runs the command and resolves with its exit code; writes the report to stdout, usage errors to stderr. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let options: CheckOptions;
  let args: CliArgs;
  try {
    const parsed = parseArgs(argv);
    if (parsed === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    args = parsed;
    options = await checkOptions(args, io);
  } catch (err) {
    io.stderr.write(`era-check: ${message(err)}\n\n${SYNOPSIS}\n(era-check --help for more)\n`);
    return USAGE_ERROR;
  }
  hideSecrets = makeScrub({ password: options.client.password, token: options.client.token }).secrets;
  if (io.stderr.isTTY) io.stderr.write(`era-check: checking; listening ${args.listenSeconds} s for events (make or take a call meanwhile if none are going on)\n`);
  const report = await runReport(options);
  const output = args.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report);
  io.stdout.write(hideSecrets(output));
  return exitCodeOf(report.outcome);
}

/** The bin's entry: the real process, an exit code, and one line for anything unforeseen. */
export function run(): void {
  const bail = (err: unknown): void => {
    process.stderr.write(`era-check: unexpected error: ${hideSecrets(message(err).split('\n', 1)[0] ?? '')}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', bail);
  process.on('unhandledRejection', bail);
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }).then(
    // Exit once the output is written, whatever a socket of the platform's may still hold open.
    (code) => process.stdout.write('', () => process.exit(code)),
    bail,
  );
}
