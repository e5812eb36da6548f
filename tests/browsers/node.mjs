// The few Node built-ins the shared JS suite (tests/js/) uses, for browsers. The test server
// (tests/browsers.rs) serves every `from 'node:…'` in a suite file as `from '/tests/browsers/node.mjs'`:
// one module for all of them, since each import takes only the names it needs. Also sets the
// globals `process` and `Buffer` the suite reads.

// --- node:assert/strict (the calls the suite makes) ---------------------------------------------

class AssertionError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AssertionError';
  }
}

function show(value) {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return typeof value === 'object' && value !== null && !(value instanceof Error) ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function ok(value, message) {
  if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`);
}

function same(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

const assert = Object.assign((value, message) => ok(value, message), {
  ok,
  equal(actual, expected, message) {
    if (!Object.is(actual, expected)) throw new AssertionError(message ?? `${show(actual)} !== ${show(expected)}`);
  },
  notEqual(actual, expected, message) {
    if (Object.is(actual, expected)) throw new AssertionError(message ?? `${show(actual)} === ${show(expected)}`);
  },
  deepEqual(actual, expected, message) {
    if (!same(actual, expected)) throw new AssertionError(message ?? `${show(actual)} differs from ${show(expected)}`);
  },
  match(string, regexp, message) {
    if (!regexp.test(string)) throw new AssertionError(message ?? `${show(string)} does not match ${regexp}`);
  },
  fail(message = 'Failed') {
    throw new AssertionError(message);
  },
});
export default assert;

// --- node:test: `test` registers, the runner calls `runTests` -------------------------------------

let registered = [];

export function test(name, body) {
  registered.push({ name, body });
}

/** Runs the tests registered since the last call; logs `ok   name` or `FAIL name` for each. */
export async function runTests() {
  const tests = registered;
  registered = [];
  for (const { name, body } of tests) {
    // A turn of the event loop, so that the log lines so far go out.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const started = performance.now();
    try {
      await body({ diagnostic: (line) => console.log(`# ${line}`) });
      console.log(`# ${((performance.now() - started) / 1000).toFixed(1)} s`);
      console.log(`ok   ${name}`);
    } catch (error) {
      console.log(`FAIL ${name}\n${error?.stack ?? error}`);
    }
  }
  return tests.length;
}

// --- node:fs, node:path, node:url: files the runner fetched beforehand, by URL path -------------

/** URL path -> bytes; filled by the runner before it imports a suite. */
export const files = new Map();

export function readFileSync(path) {
  const bytes = files.get(path);
  if (!bytes) throw new Error(`ENOENT: ${path} (not fetched by the browser runner)`);
  return bytes;
}

export function join(...parts) {
  return parts.join('/').replace(/\/+/g, '/');
}

export const resolve = join;

/** The served file at URL path `path` (a file URL in Node). */
export function pathToFileURL(path) {
  return new URL(path, globalThis.location.href);
}

// --- node:module: only Node loads CommonJS ----------------------------------------------------------

export function createRequire() {
  throw new Error('require() is Node only');
}

// --- node:crypto: the suite compares memories by hash -------------------------------------------------

/**
 * `createHash(any).update(bytes)….digest()`: a 64-bit FNV-1a over the bytes (whole 32-bit words
 * where aligned), not SHA-256. The suite only compares two digests of the same memory for
 * equality, which this does without a copy and synchronously, as WebCrypto cannot.
 */
export function createHash() {
  let lo = 0x811c9dc5;
  let hi = 0xcbf29ce4;
  let length = 0;
  return {
    update(bytes) {
      const words = bytes.byteOffset % 4 === 0 ? bytes.length >>> 2 : 0;
      const view = new Uint32Array(bytes.buffer, bytes.byteOffset, words);
      for (let i = 0; i < words; i++) {
        lo = Math.imul(lo ^ view[i], 0x01000193);
        hi = Math.imul(hi ^ lo, 0x01b3) ^ (lo >>> 13);
      }
      for (let i = words * 4; i < bytes.length; i++) {
        lo = Math.imul(lo ^ bytes[i], 0x01000193);
        hi = Math.imul(hi ^ lo, 0x01b3) ^ (lo >>> 13);
      }
      length += bytes.length;
      return this;
    },
    digest() {
      return [hi >>> 0, lo >>> 0, length].map((n) => n.toString(16)).join('-');
    },
  };
}

// --- globals: `process` (env, argv, exit) and `Buffer` (latin1 views) --------------------------------

export const process = { env: {}, argv: [], exitCode: undefined };
process.exit = (code) => {
  process.exitCode = code;
};
globalThis.process = process;

globalThis.Buffer = {
  from: (buffer, offset, length) => ({
    toString: () => String.fromCharCode(...new Uint8Array(buffer, offset, length)),
  }),
};
