/**
 * The intake benchmark's baseline: a bare Fastify server that inserts one row per POST into
 * better-sqlite3, one autocommit (one fsync) per request, with the ledger's durability pragmas
 * (WAL, synchronous = FULL; see src/ledger/sqlite/index.ts). No auth, no validation, no outbox,
 * no job row: the least work a durable "accept" can do on this stack.
 *
 *   node --import tsx bench/lib/baseline-server.ts <sqlite file>   → prints "listening on <url>"
 */
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: baseline-server.ts <sqlite file>\n');
  process.exit(2);
}

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`create table if not exists callbacks (
  pk integer primary key autoincrement,
  callback_id text not null unique,
  body text not null,
  created_at integer not null
)`);
const insert = db.prepare('insert into callbacks (callback_id, body, created_at) values (?, ?, ?)');

const app = Fastify({ logger: false });
app.post('/api/v2/routing/callbacks', async (req, reply) => {
  const body = req.body as { callbackId?: unknown };
  const callbackId = typeof body?.callbackId === 'string' ? body.callbackId : '';
  const info = insert.run(callbackId, JSON.stringify(body), Date.now());
  return reply.code(201).send({ pk: Number(info.lastInsertRowid), callbackId, status: 'accepted' });
});

const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(
  `pragmas: journal_mode=${db.pragma('journal_mode', { simple: true })} synchronous=${db.pragma('synchronous', { simple: true })}\n`,
);
process.stdout.write(`listening on ${url}\n`);

const stop = () => {
  app.close().then(() => {
    db.close();
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
