// Files that hold a key (the development master key and API key): read and
// written without following a symbolic link, so that nobody who can write to
// the data folder can redirect them elsewhere, and kept at mode 0600.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export class PrivateFileError extends Error {
  override name = 'PrivateFileError';
}

const refuseLink = (file: string, err: unknown): never => {
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
    throw new PrivateFileError(`${file} is a symbolic link: refusing to read or write a key through it (remove it, and start again)`);
  }
  throw err;
};

/** The file's text, or undefined when there is no such file. */
export async function readPrivateFile(file: string): Promise<string | undefined> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    return refuseLink(file, err);
  });
  if (!handle) return undefined;
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Writes the file (mode 0600), replacing its content; `exclusive`: only if it does not exist yet. */
export async function writePrivateFile(file: string, text: string, options: { exclusive?: boolean } = {}): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (options.exclusive ? constants.O_EXCL : constants.O_TRUNC);
  const handle = await open(file, flags, 0o600).catch((err: unknown) => refuseLink(file, err));
  try {
    // An existing file keeps its mode on open: make it 0600 whatever it was.
    await handle.chmod(0o600);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
