// What can happen to a secret, as change events name it: a leaf module, so
// that the server's log and GraphQL enum and the CLI's watcher share one list.
export const EVENT_TYPES = ['created', 'updated', 'renamed', 'described', 'deleted', 'restored', 'expired'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Events after which a secret's name and value are as they were (a new description). */
const VALUE_KEEPING: ReadonlySet<string> = new Set<EventType>(['described']);

/** Whether an event of this type (as stored, or as GraphQL's enum spells it) may change what a process is given. */
export const changesValues = (type: string) => !VALUE_KEEPING.has(type.toLowerCase());
