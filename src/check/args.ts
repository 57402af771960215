/** The `era-check` command line: what it accepts, and the usage errors (exit code 2) it gives. */
import { DEFAULT_LISTEN_SECONDS } from './run';

export const SYNOPSIS = `Usage: era-check --url URL --domain DOMAIN (--login LOGIN [--password-env VAR] | --token-env VAR)
                 [--listen SECONDS] [--json] [--ca FILE] [--insecure]
                 [--test-call NUMBER --from NUMBER]`;

export const USAGE = `${SYNOPSIS}

Checks, step by step and read-only, how an Era installation speaks the protocol the package
uses, and prints a report that can be pasted into a bug report as it is: it shows no password,
token, phone number, id or field value (the host can be removed before pasting).

  --url URL            the installation's address, https://host[:port]
  --domain DOMAIN      the Era domain to log into (user login)
  --login LOGIN        log in as this user; the password comes from --password-env, or is
                       asked for when this is a terminal
  --password-env VAR   the environment variable that holds the password
  --token-env VAR      use an integration point's token (token_local) from this variable
  --listen SECONDS     how long to listen for events (default ${DEFAULT_LISTEN_SECONDS}); make a call meanwhile
  --json               the report as JSON instead of text
  --ca FILE            PEM certificate(s) of a private CA the installation's certificate is from
  --insecure           do not verify the certificate (a test server only)
  --test-call NUMBER   place one call to NUMBER while listening, and hang it up
  --from NUMBER        the operator number that call starts from (needed with --test-call)
  --help               this text

Secrets are never taken from the command line.
Exit code: 0 every step passed, 3 nothing failed but something differs from the platform's
documentation, 1 a step failed, 2 a usage error.`;

export class UsageError extends Error {}

export interface CliArgs {
  url: string;
  domain?: string;
  login?: string;
  passwordEnv?: string;
  tokenEnv?: string;
  listenSeconds: number;
  json: boolean;
  caFile?: string;
  insecure: boolean;
  testCall?: string;
  from?: string;
}

const LISTEN_MAX = 3600;
const SECRET_FLAGS = new Set(['--password', '--token', '--pwd', '-p']);

function secretOnCommandLine(flag: string): UsageError {
  const variable = flag === '--token' ? '--token-env VAR' : '--password-env VAR';
  return new UsageError(`${flag} is not accepted: a secret on the command line is seen by every user of this machine (ps) and kept in the shell's history. Put it in an environment variable and name it with ${variable}${flag === '--token' ? '' : ', or leave it out to be asked for it'}`);
}

export function parseArgs(argv: readonly string[]): CliArgs | 'help' {
  const given = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg;
    if (SECRET_FLAGS.has(name)) throw secretOnCommandLine(name);
    switch (name) {
      case '--help':
      case '-h':
        return 'help';
      case '--json':
      case '--insecure':
        if (eq !== -1) throw new UsageError(`${name} takes no value`);
        flags.add(name);
        break;
      case '--url':
      case '--domain':
      case '--login':
      case '--password-env':
      case '--token-env':
      case '--listen':
      case '--ca':
      case '--test-call':
      case '--from': {
        const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
        if (given.has(name)) throw new UsageError(`${name} is given twice`);
        given.set(name, value);
        break;
      }
      default:
        throw new UsageError(`unknown argument ${arg.startsWith('-') ? arg.slice(0, eq === -1 ? undefined : eq) : `"${arg}"`}`);
    }
  }
  const url = given.get('--url');
  if (url === undefined) throw new UsageError('--url is needed');
  const login = given.get('--login');
  const tokenEnv = given.get('--token-env');
  const passwordEnv = given.get('--password-env');
  if ((login === undefined) === (tokenEnv === undefined)) throw new UsageError('give --login (user login) or --token-env (integration token), one of them');
  if (passwordEnv !== undefined && login === undefined) throw new UsageError('--password-env goes with --login');
  const domain = given.get('--domain');
  if (login !== undefined && domain === undefined) throw new UsageError('--domain is needed with --login');
  const listenText = given.get('--listen');
  const listenSeconds = listenText === undefined ? DEFAULT_LISTEN_SECONDS : Number(listenText);
  if (!Number.isFinite(listenSeconds) || listenSeconds < 1 || listenSeconds > LISTEN_MAX) {
    throw new UsageError(`--listen must be a number of seconds from 1 to ${LISTEN_MAX}`);
  }
  const testCall = given.get('--test-call');
  const from = given.get('--from');
  if ((testCall === undefined) !== (from === undefined)) throw new UsageError('--test-call and --from go together: the call starts at the operator number --from');
  return {
    url,
    domain,
    login,
    passwordEnv,
    tokenEnv,
    listenSeconds,
    json: flags.has('--json'),
    caFile: given.get('--ca'),
    insecure: flags.has('--insecure'),
    testCall,
    from,
  };
}
