// The least a Node-RED node can do on the event path: one `ws` client on the token socket,
// JSON.parse of each frame and one node.send per event; no acknowledgements, no de-duplication,
// no call state, no reconnection. The event path's floor inside Node-RED.
const WebSocket = require('ws');

module.exports = function (RED) {
  function BenchWsMin(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const ws = new WebSocket(config.url, { perMessageDeflate: false });
    ws.on('open', () => { for (const frame of config.frames) ws.send(frame); });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame[0] !== 'event') return;
      const ev = frame[1];
      const payload = ev.data;
      node.send({ topic: `${ev.class}.${ev.type}`, payload, connectionId: payload.connectionid, callId: payload.cid, eventId: payload.eventid });
    });
    ws.on('error', (err) => node.warn(err.message));
    node.on('close', (done) => {
      ws.terminate();
      done();
    });
  }
  RED.nodes.registerType('bench-ws-min', BenchWsMin);
};
