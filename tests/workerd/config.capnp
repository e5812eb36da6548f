# workerd config for tests/workerd.rs and the README's hand-written Worker (tests/readme.rs), copied
# beside the files it embeds: the Worker, the glue (`wasm-unwind --emit-js`), the fixture's imports
# and the processed module. The Wasm must be embedded as a `wasm` module: workerd refuses to
# compile Wasm at run time. The test overrides the address with `--socket-addr http=127.0.0.1:0`
# and reads the port workerd picked from `--control-fd`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .app) ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const app :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "wasm-unwind.mjs", esModule = embed "wasm-unwind.mjs"),
    (name = "imports.mjs", esModule = embed "imports.mjs"),
    (name = "app.wasm", wasm = embed "app.wasm"),
  ],
  compatibilityDate = "2026-11-17",
);
