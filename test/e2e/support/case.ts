/**
 * One case of the suite: a simulator, a fresh user directory with the package installed, a
 * settings.js with the case's edits, Node-RED started on it, the test flow deployed through the
 * admin API and the editor's view of statuses. Everything it started is stopped by stop().
 */
import { SimControl, startSimulator, type Simulator } from '../../support/sim';
import { Comms } from './comms';
import { testFlow, WEBHOOK_SECRET, type Platform } from './flow';
import { NodeRed, type NodeAccess } from './node-red';
import { installedUserDir } from './package';
import { flowsAnswer } from './probe';
import { writeSettings, type SettingValue } from './settings';

export interface CaseSetup {
  /** Names the user directory. */
  name: string;
  /** Settings changed from Node-RED's own settings.js. */
  settings?: Record<string, SettingValue>;
  /** Where the flows' HTTP endpoints are, as the settings put them. */
  access?: NodeAccess;
  /** An adminAuth user the admin API is used as. */
  admin?: { username: string; password: string };
  /** The simulator registers a webhook to Node-RED and delivers the platform's events to it. */
  register?: boolean;
  /** Secrets of the settings (named), which must not show either. */
  secrets?: Record<string, string>;
}

/** Credentials of the simulated platform: not the demo ones, and not plain ASCII. */
const CREDENTIALS = { domain: 'demo.local', login: 'оператор-e2e', password: 'Пароль "e2e" \\ секрет', token: 'e2e-token-5f2c9a71' };

let deployments = 0;

export class Case {
  sim!: Simulator;
  ctl!: SimControl;
  red!: NodeRed;
  comms!: Comms;
  platform!: Platform;
  /** The deployed flow's name in the probe's answer. */
  rev = '';

  constructor(readonly setup: CaseSetup) {}

  async start(): Promise<void> {
    this.sim = await startSimulator({ port: 0, login: CREDENTIALS.login, password: CREDENTIALS.password, token: CREDENTIALS.token, dlgStopDelayMs: 200 });
    this.ctl = new SimControl(this.sim);
    this.platform = { url: this.sim.url, ...CREDENTIALS };
    const userDir = await installedUserDir(this.setup.name);
    writeSettings(userDir, this.setup.settings ?? {});
    this.red = await NodeRed.start(userDir, this.setup.access);
    await this.logIn();
    await this.red.flowsLoaded();
    await this.deploy();
    this.comms = await Comms.open(this.red.url, this.red.token);
  }

  /** A full deploy of the test flow, under a new name; resolves once the new flows answer. */
  async deploy(): Promise<void> {
    this.rev = `${this.setup.name}-${++deployments}`;
    const register = this.setup.register ? { publicUrl: this.red.url, auth: this.setup.access?.auth } : undefined;
    await this.red.deploy(testFlow({ platform: this.platform, rev: this.rev, register }));
    await flowsAnswer(this.red, this.rev);
  }

  /** As the editor's login: later admin requests carry the adminAuth user's token. */
  private async logIn(): Promise<void> {
    const admin = this.setup.admin;
    if (admin) this.red.token = await this.red.requestToken(admin.username, admin.password);
  }

  /** Stops Node-RED and starts it again on the same user directory: nothing is deployed again. */
  async restart(): Promise<void> {
    this.comms.close();
    await this.red.stop();
    await this.red.start();
    await this.logIn();
    await flowsAnswer(this.red, this.rev);
    this.comms = await Comms.open(this.red.url, this.red.token);
  }

  /** What must never show, by name: the platform's password and token, the webhook's secret, the settings' secrets. */
  secrets(): Record<string, string> {
    return {
      'the platform password': this.platform.password,
      'the platform token': this.platform.token,
      "the webhook's secret": WEBHOOK_SECRET,
      ...this.setup.secrets,
    };
  }

  async stop(): Promise<void> {
    this.comms?.close();
    await this.red?.stop();
    await this.sim?.stop();
  }
}
