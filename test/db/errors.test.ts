// What counts as the database being away (503) rather than a failure (500).
import { expect, it } from 'vitest';
import { MongoBulkWriteError, MongoNetworkError, MongoServerError } from 'mongodb';
import { isDatabaseUnavailable } from '../../src/db/errors.ts';

const systemError = (code: string, syscall: string) => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

it('a bare socket error the driver lets through as the engine dies (write EPIPE, seen in the outage test) is the database away', () => {
  expect(isDatabaseUnavailable(systemError('EPIPE', 'write'))).toBe(true);
  expect(isDatabaseUnavailable(systemError('ECONNRESET', 'read'))).toBe(true);
  expect(isDatabaseUnavailable(new Error('wrapped', { cause: systemError('ECONNREFUSED', 'connect') }))).toBe(true);
});

it('other errors are not, even with a code', () => {
  expect(isDatabaseUnavailable(new Error('write EPIPE'))).toBe(false);
  expect(isDatabaseUnavailable(Object.assign(new Error('dup'), { code: 11000 }))).toBe(false);
  expect(isDatabaseUnavailable(systemError('EACCES', 'open'))).toBe(false);
});

it('a bulk write that lost its connection (an ordered insertMany as the engine goes away, seen in the outage test) is the database away', () => {
  const lost = new MongoBulkWriteError(new MongoNetworkError('connection 8 to 2f90e1da closed'), {} as never);
  expect(lost.name).toBe('MongoBulkWriteError');
  expect(isDatabaseUnavailable(lost)).toBe(true);
  // One the server refused is not.
  expect(isDatabaseUnavailable(new MongoBulkWriteError({ message: 'E11000', code: 11000, writeErrors: [] } as never, {} as never))).toBe(false);
  expect(isDatabaseUnavailable(new MongoServerError({ message: 'bad', code: 2 }))).toBe(false);
});
