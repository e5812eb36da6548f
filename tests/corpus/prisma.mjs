// @prisma/prisma-schema-wasm (Prisma's schema engine in Rust, wasm-bindgen `--target nodejs`: the
// module imports `__wbindgen_placeholder__`, loaded by CommonJS glue): format, lint and DMMF of a
// schema, a schema with errors, bad params, and its debug panic (a panic=abort build: a trap) last.
import { run, digest } from './harness.mjs';

const SCHEMA = `datasource db {
  provider = "postgresql"
}
generator client {
  provider = "prisma-client-js"
}
model User {
  id    Int     @id @default(autoincrement())
  email String  @unique
  name  String?
  posts Post[]
}
model Post {
  id       Int    @id @default(autoincrement())
  title    String
  author   User   @relation(fields: [authorId], references: [id])
  authorId Int
  @@index([authorId])
}
enum Role {
  USER
  ADMIN
}
`;
const BROKEN = `model User {
  id Int @id
  posts Post[]
  role Role @default(NOBODY)
`;

await run(async (pkg) => {
  const prisma = pkg.require('@prisma/prisma-schema-wasm');
  const files = (schema) => JSON.stringify([['schema.prisma', schema]]);
  return {
    steps: [
      ['format', () => prisma.format(SCHEMA, JSON.stringify({ textDocument: { uri: 'file:/schema.prisma' }, options: { tabSize: 4, insertSpaces: true } }))],
      ['lint', () => prisma.lint(files(SCHEMA))],
      ['dmmf', () => { const d = prisma.get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', SCHEMA]] })); return `${d.length} chars ${digest(d)}`; }],
      ['lint broken', () => prisma.lint(files(BROKEN))],
      ['validate broken', () => prisma.validate(JSON.stringify({ prismaSchema: [['schema.prisma', BROKEN]] }))],
      ['dmmf broken', () => prisma.get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', BROKEN]] }))],
    ],
    // After the timed rounds: the package's glue throws a TypeError through its export on bad
    // params, and the next such call traps (unprocessed it then runs on; processed, every call
    // after the trap is refused), so these run once. `preview features` shows the instance
    // still serves after the host's error.
    after: [
      ['bad params', () => prisma.get_dmmf('{"prismaSchema": 42}')],
      ['preview features', () => prisma.preview_features()],
      ['debug panic', () => prisma.debug_panic()],
    ],
  };
});
