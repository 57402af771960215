import { type EraEvent, isTopicPattern, matchesPattern } from '../era';
import { commaList } from './lib/choice';
import { eventMessage } from './lib/event-message';
import type { NodeDef, RedApi, RedNode } from './lib/red';
import { holdForLife, linkToServer } from './lib/server-link';
import { linkStatus } from './lib/status';


export = function register(RED: RedApi): void {
  function EraEvents(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const link = linkToServer(RED, node, def);
    const patterns = def.events === undefined ? ['callevents.*'] : commaList(def.events);
    const objects = commaList(def.objects);
    const attachCall = def.attachCall !== false && def.attachCall !== 'false';
    const split = def.split === true || def.split === 'true';
    const bad = patterns.filter((p) => !isTopicPattern(p));
    if (patterns.length === 0 || bad.length > 0) {
      const why = patterns.length === 0 ? 'no event pattern is set' : `bad event pattern "${bad[0]}" (expected <class>.<type>, e.g. callevents.*)`;
      node.error(`era-events: ${why}`);
      link.view.show(linkStatus(RED, 'invalid_config', why));
      holdForLife(node, link);
      return;
    }
    holdForLife(node, link, (client) => client.listen({ events: patterns, objects, attachCall, key: node.id, exclusive: true }, (ev: EraEvent) => {
      const msg = eventMessage(ev, attachCall);
      if (!split) {
        node.send(msg);
        return;
      }
      // Node-RED clones a message it sends to more than one output.
      node.send(patterns.map((p) => (matchesPattern(p, ev.topic) ? msg : null)));
    }));
  }
  RED.nodes.registerType('era-events', EraEvents);
};
