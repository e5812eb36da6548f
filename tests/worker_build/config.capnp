# The workers-rs fixture (fixtures/worker/build/*) with its Durable Object, for tests/worker_build.rs.
# The module list below is filled in by the test: worker-build's index.js + index_bg.wasm, after main.mjs and
# state-reader.mjs when a host reads the state. The first module is the Worker's entry.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    $MODULES
  ],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [ (className = "Counter", uniqueKey = "wasm-unwind-worker-fixture") ],
  durableObjectStorage = (inMemory = void),
  bindings = [ (name = "COUNTER", durableObjectNamespace = (className = "Counter")) ],
);
