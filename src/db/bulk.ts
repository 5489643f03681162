// Many updates in few commands, within what FerretDB can carry in one.
import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';

/**
 * Update statements per command. FerretDB 1.24 keeps each statement's query
 * open until its whole `update` command ends (a `defer` inside its loop over
 * the statements, internal/handler/msg_update.go), and its SQLite pool has
 * 100 connections (SetMaxOpenConns(100)): the 100th statement waits for a
 * connection that none of the others gives back, and the command, with every
 * other command on that engine, hangs. Below that, one command carries them all.
 */
export const UPDATES_PER_COMMAND = 64;

/** One unordered bulkWrite per UPDATES_PER_COMMAND operations; returns how many matched. */
export async function updateInCommands<T extends Document>(collection: Collection<T>, ops: AnyBulkWriteOperation<T>[]): Promise<number> {
  let matched = 0;
  for (let i = 0; i < ops.length; i += UPDATES_PER_COMMAND) {
    matched += (await collection.bulkWrite(ops.slice(i, i + UPDATES_PER_COMMAND), { ordered: false })).matchedCount;
  }
  return matched;
}
