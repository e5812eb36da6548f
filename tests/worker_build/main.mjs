// The Worker's entry when a host reads the state (see state-reader.mjs): installs the reader
// before worker-build's bundle instantiates anything, then serves that bundle unchanged, plus
// GET /__state_reads (how often the host read the state).
import './state-reader.mjs';
import Worker from './index.js';

export * from './index.js';

export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname === '/__state_reads') {
      return new Response(String(globalThis.stateReads));
    }
    return new Worker(ctx, env).fetch(request);
  },
};
