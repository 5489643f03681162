// Index helpers shared by the models' start-up (models/index.ts) and the migrations.
/** Drops an index replaced by another shape; one already gone is fine. */
export async function dropIndexIfThere(collection: { dropIndex(name: string): Promise<unknown> }, name: string): Promise<void> {
  await collection.dropIndex(name).catch((err: unknown) => {
    const { codeName, code } = err as { codeName?: string; code?: number };
    // IndexNotFound; NamespaceNotFound when the collection does not exist yet.
    if (codeName !== 'IndexNotFound' && code !== 27 && code !== 26 && codeName !== 'NamespaceNotFound') throw err;
  });
}
