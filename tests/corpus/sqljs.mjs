// sql.js (SQLite compiled to wasm by Emscripten): SQL through its own glue, and a user-defined SQL
// function written in JS (`create_function`: the glue adds it to the module's function table and
// SQLite calls it through `call_indirect`; it calls back into the result exports).
import { run } from './harness.mjs';

await run(async (pkg) => {
  const initSqlJs = pkg.require('sql.js');
  const SQL = await initSqlJs({ locateFile: (file) => pkg.path(`sql.js/dist/${file}`) });
  const db = new SQL.Database();
  const query = (sql) => JSON.stringify(db.exec(sql));
  return {
    steps: [
      ['create', () => query(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL);
        INSERT INTO t (name, score) VALUES ('ada', 3.5), ('bob', 1.25), ('cy', NULL);`)],
      ['select', () => query('SELECT name, score * 2 FROM t ORDER BY name')],
      ['aggregate', () => query(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
        SELECT count(*), sum(i), group_concat(i % 7, '') LIKE '1234560%' FROM n`)],
      ['syntax error', () => query('SELEC name FROM t')],
      ['missing table', () => query('SELECT * FROM nowhere')],
      ['create_function', () => {
        db.create_function('shout', (s) => (s === null ? null : `${String(s).toUpperCase()}!`));
        return query('SELECT shout(name) FROM t ORDER BY id');
      }],
      ['function that throws', () => {
        db.create_function('boom', (x) => { throw new Error('boom from JS'); });
        return query('SELECT boom(1)');
      }],
      ['after the throw', () => query('SELECT shout(name), length(name) FROM t WHERE id = 2')],
      ['export', () => db.export().length],
    ],
    close: () => db.close(),
  };
});
