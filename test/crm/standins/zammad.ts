/**
 * A Zammad help desk, written from its REST reference (the public repository
 * zammad/zammad-documentation, read at commit ca3d14bf):
 * - api/intro.rst: `Authorization: Token token={your_token}` (access token) or `Bearer` (OAuth2);
 *   JSON in and out.
 * - api/ticket/index.rst: `POST /api/v1/tickets` {title, group, customer, article} → 201 with the
 *   ticket; `PUT /api/v1/tickets/{id}` {state, article, ...} → 200 (the article is a new one);
 *   `GET /api/v1/tickets/{id}`.
 * - api/ticket/states.rst: the default states (new, open, pending reminder, closed, merged,
 *   pending close); api/ticket/articles.rst: article types (note, phone, email, ...).
 * Not shown by the reference, so chosen here: error bodies `{"error", "error_human"}` (what
 * Zammad's API clients read) with 401 for a missing or wrong token, 422 for a value it cannot
 * use, 404 for an unknown ticket.
 */
import { isObject, StandIn, type Received, type Reply } from './http';

export interface ZammadTicket {
  id: number;
  number: string;
  title: string;
  group: string;
  customer: string;
  state: string;
  articles: Array<Record<string, unknown>>;
}

const STATES = ['new', 'open', 'pending reminder', 'closed', 'merged', 'pending close'];
const ARTICLE_TYPES = ['note', 'phone', 'email', 'web', 'sms', 'chat'];

const error = (status: number, text: string): Reply => ({ status, body: { error: text, error_human: text } });

export class ZammadStandIn extends StandIn {
  token = 'zammad-access-token';
  readonly tickets = new Map<number, ZammadTicket>();
  readonly groups = ['Users', 'Callbacks'];
  private nextId = 1;

  constructor(private readonly customers: string[] = ['callbacks@example.com']) {
    super();
  }

  protected route(r: Received): Reply {
    const auth = String(r.headers.authorization ?? '');
    if (auth !== `Token token=${this.token}` && auth !== `Bearer ${this.token}`) return error(401, 'Authentication required');
    const match = /^\/api\/v1\/tickets(?:\/(\d+))?$/.exec(r.path);
    if (!match) return error(404, 'No route matches');
    const id = match[1] === undefined ? undefined : Number(match[1]);
    if (id === undefined) return r.method === 'POST' ? this.create(r.body) : error(404, 'No route matches');
    const ticket = this.tickets.get(id);
    if (!ticket) return error(404, `Couldn't find Ticket with 'id'=${id}`);
    if (r.method === 'GET') return { status: 200, body: shown(ticket) };
    if (r.method === 'PUT') return this.update(ticket, r.body);
    return error(404, 'No route matches');
  }

  private create(body: unknown): Reply {
    if (!isObject(body)) return error(422, 'Need a JSON object');
    if (typeof body.title !== 'string' || !body.title.trim()) return error(422, "title can't be blank");
    if (typeof body.group !== 'string' || !this.groups.includes(body.group)) return error(422, `No lookup value found for 'group': ${JSON.stringify(body.group)}`);
    if (typeof body.customer !== 'string' || !this.customers.includes(body.customer)) return error(422, `No lookup value found for 'customer': ${JSON.stringify(body.customer)}`);
    const article = articleOf(body.article);
    if (typeof article === 'string') return error(422, article);
    const id = this.nextId++;
    const ticket: ZammadTicket = { id, number: String(22000 + id), title: body.title, group: body.group, customer: body.customer, state: 'new', articles: article ? [article] : [] };
    this.tickets.set(id, ticket);
    return { status: 201, body: shown(ticket) };
  }

  private update(ticket: ZammadTicket, body: unknown): Reply {
    if (!isObject(body)) return error(422, 'Need a JSON object');
    if (body.state !== undefined && !STATES.includes(String(body.state))) return error(422, `No lookup value found for 'state': ${JSON.stringify(body.state)}`);
    const article = articleOf(body.article);
    if (typeof article === 'string') return error(422, article);
    if (body.state !== undefined) ticket.state = String(body.state);
    if (article) ticket.articles.push(article);
    return { status: 200, body: shown(ticket) };
  }
}

/** An article as sent, undefined when none, or what is wrong with it. */
function articleOf(value: unknown): Record<string, unknown> | undefined | string {
  if (value === undefined) return undefined;
  if (!isObject(value)) return 'article must be an object';
  if (typeof value.body !== 'string' || !value.body) return "article body can't be blank";
  if (value.type !== undefined && !ARTICLE_TYPES.includes(String(value.type))) return `No lookup value found for 'type': ${JSON.stringify(value.type)}`;
  return value;
}

function shown(t: ZammadTicket): Record<string, unknown> {
  return { id: t.id, number: t.number, title: t.title, group: t.group, state: t.state, article_count: t.articles.length };
}
