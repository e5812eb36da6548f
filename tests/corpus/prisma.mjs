// @prisma/prisma-schema-wasm (Prisma's schema engine in Rust, wasm-bindgen `--target nodejs`: the
// module imports `__wbindgen_placeholder__`, loaded by CommonJS glue): format, lint and DMMF of a
// schema, a schema with errors, and its debug panic (a panic=abort build: a trap) last.
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
      ['bad params', () => prisma.get_dmmf('{"prismaSchema": 42}')],
      ['preview features', () => prisma.preview_features()],
    ],
    after: [['debug panic', () => prisma.debug_panic()]],
  };
});
