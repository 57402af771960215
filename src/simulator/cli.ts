/**
 * `era-simulator [--port N] [--host H] [--traffic] [--envelope model|flat|method]
 * [--strict|--lenient]`: serve the simulated platform until SIGINT/SIGTERM.
 */
import { resolveOptions, startSimulator, type Simulator } from './index';
import type { Envelope, SimulatorOptions } from './types';

const DEFAULT_CLI_PORT = 8088;

const STRICT_BY_DEFAULT = resolveOptions().strict;

const USAGE = `Usage: era-simulator [--port N] [--host H] [--traffic] [--envelope model|flat|method] [--strict|--lenient]

Serves a simulated Era platform (REST and WebSocket API) for flows, tests and demos.
  --port N        port to listen on (default ${DEFAULT_CLI_PORT}; 0 = any free port)
  --host H        address to bind (default 127.0.0.1)
  --traffic       generate realistic calls, a new one every ~2 s
  --envelope E    push envelope of events: model (default), flat or method
  --strict        the connection as the vendor documents it: setup (and login on /ws)
                  before anything else, errormsg replies, session_type "token" only${STRICT_BY_DEFAULT ? ' (default)' : ''}
  --lenient       the forgiving behaviour of earlier versions: credentials on the /ws
                  upgrade, no setup needed${STRICT_BY_DEFAULT ? '' : ' (default)'}
  --help          show this text`;

export type CliArgs = { help: true } | { help: false; options: SimulatorOptions };

export function parseArgs(argv: readonly string[]): CliArgs {
  const options: SimulatorOptions = { port: DEFAULT_CLI_PORT };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new Error(`${name} needs a value`);
      return next;
    };
    // `--strict=false` must not switch strict mode on: a switch takes no value at all.
    const flag = (): void => {
      if (eq !== -1) throw new Error(`${name} takes no value`);
    };
    switch (name) {
      case '--help':
      case '-h':
        return { help: true };
      case '--traffic':
        flag();
        options.traffic = true;
        break;
      case '--strict':
      case '--lenient': {
        flag();
        const strict = name === '--strict';
        if (options.strict === !strict) throw new Error('give --strict or --lenient, not both');
        options.strict = strict;
        break;
      }
      case '--port': {
        const text = value();
        const port = Number(text);
        if (!/^\d+$/.test(text) || port > 65535) throw new Error(`--port must be 0-65535, not ${text}`);
        options.port = port;
        break;
      }
      case '--host':
        options.host = value();
        break;
      case '--envelope': {
        const envelope = value();
        if (envelope !== 'model' && envelope !== 'flat' && envelope !== 'method') throw new Error(`--envelope must be model, flat or method, not ${envelope}`);
        options.envelope = envelope satisfies Envelope;
        break;
      }
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  return { help: false, options };
}

function banner(sim: Simulator): string {
  const { domain, login, password, token, trafficIntervalMs, envelope, strict } = sim.options;
  return [
    `Era platform simulator listening on ${sim.url}`,
    `  domain    ${domain}`,
    `  login     ${login}`,
    `  password  ${password}`,
    `  token     ${token}`,
    `  control   ${sim.url}/_sim/`,
    `  envelope  ${envelope}`,
    `  mode      ${strict ? 'strict (setup, and login on /ws, before anything else)' : 'lenient'}`,
    `  traffic   ${trafficIntervalMs > 0 ? `a new call every ~${trafficIntervalMs / 1000} s` : 'off (start with --traffic)'}`,
    'Press Ctrl+C to stop.',
  ].join('\n');
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`era-simulator: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const sim = await startSimulator(args.options);
  process.stdout.write(`${banner(sim)}\n`);
  const shutdown = (): void => {
    process.off('SIGINT', shutdown);
    process.off('SIGTERM', shutdown);
    void sim.stop().then(() => process.stdout.write('Era platform simulator stopped.\n'));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`era-simulator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
