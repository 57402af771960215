/**
 * What Node-RED's editor is sent about deployed nodes: `GET /flows` (also what Export takes
 * the flow from) and `GET /credentials/<type>/<id>` (what the edit dialog shows of a node's
 * credentials), answered by Node-RED's own admin handlers over the runtime the test helper
 * loaded. The helper's admin app serves only the nodes' own endpoints; pass `editorRoutes` to
 * load() to add these two.
 */
type Handler = (req: unknown, res: unknown) => void;

interface RuntimeFlowsApi {
  init(runtime: unknown): void;
}

interface AdminHandlers {
  init(runtimeApi: { flows: RuntimeFlowsApi }): void;
  get: Handler;
}

const runtimeNodes = require('@node-red/runtime/lib/nodes') as unknown;
const runtimeFlows = require('@node-red/runtime/lib/api/flows') as RuntimeFlowsApi;
const adminFlows = require('@node-red/editor-api/lib/admin/flows') as AdminHandlers;
const editorCredentials = require('@node-red/editor-api/lib/editor/credentials') as AdminHandlers;

/** A node module for load(): mounts GET /flows and GET /credentials/:type/:id on the admin app. */
export function editorRoutes(RED: { httpAdmin: { get(path: string, handler: Handler): void } }): void {
  // The same runtime pieces Node-RED's own start wires these handlers to (log.audit left out).
  runtimeFlows.init({ flows: runtimeNodes, nodes: runtimeNodes, log: { audit: () => undefined } });
  adminFlows.init({ flows: runtimeFlows });
  editorCredentials.init({ flows: runtimeFlows });
  RED.httpAdmin.get('/flows', adminFlows.get);
  RED.httpAdmin.get('/credentials/:type/:id', editorCredentials.get);
}
