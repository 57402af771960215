// A node that does nothing with what it receives: the benchmarks attach their counters to
// its input (bench/lib/red.ts onSink), so every flow ends in the same, free, sink.
module.exports = function (RED) {
  function BenchSink(config) {
    RED.nodes.createNode(this, config);
  }
  RED.nodes.registerType('bench-sink', BenchSink);
};
