// The peer: OpenBao (the open-source Vault fork), KV v2 on its raft storage,
// with a file audit device, as its documentation sets up a single node. The
// binary comes from OPENBAO_BIN (the README says how to build one from
// OpenBao's source); without one the peer is not measured, and says why.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './common.ts';

export interface OpenBao {
  readonly child: ChildProcess;
  readonly base: string;
  readonly token: string;
  stop(): Promise<void>;
}

/** Why the peer cannot run here, or null when it can. */
export function openBaoMissing(bin: string | undefined): string | null {
  if (!bin) return 'not measured: set OPENBAO_BIN to a bao binary (see the README, Performance)';
  if (!existsSync(bin)) return `not measured: OPENBAO_BIN=${bin} does not exist`;
  return null;
}

async function call(base: string, method: string, route: string, body?: unknown, token?: string) {
  const res = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { 'x-vault-token': token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`OpenBao ${method} ${route}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Starts, initialises and unseals a node, mounts KV v2 at secret/, and writes `names` into it. */
export async function startOpenBao(bin: string, names: readonly string[]): Promise<OpenBao> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-openbao-'));
  const [port, clusterPort] = [await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  writeFileSync(
    path.join(dir, 'config.hcl'),
    `
storage "raft" {
  path    = "${dir}"
  node_id = "n1"
}
listener "tcp" {
  address     = "127.0.0.1:${port}"
  tls_disable = 1
}
audit "file" "bench" {
  options {
    file_path = "${dir}/audit.log"
  }
}
api_addr     = "${base}"
cluster_addr = "http://127.0.0.1:${clusterPort}"
`,
  );
  const child = spawn(bin, ['server', `-config=${path.join(dir, 'config.hcl')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (
      let i = 0;
      !(await fetch(`${base}/v1/sys/health`).then(
        () => true,
        () => false,
      ));
      i++
    ) {
      if (child.exitCode !== null || i > 300) throw new Error(`OpenBao did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const init = await call(base, 'PUT', '/v1/sys/init', { secret_shares: 1, secret_threshold: 1 });
    await call(base, 'PUT', '/v1/sys/unseal', { key: (init.keys_base64 as string[])[0] });
    const token = init.root_token as string;
    // Raft elects its leader after the unseal: writes wait for it.
    for (let i = 0; ; i++) {
      const ok = await call(base, 'POST', '/v1/sys/mounts/secret', { type: 'kv', options: { version: '2' } }, token).then(
        () => true,
        (err: unknown) => {
          if (i > 100) throw err;
          return false;
        },
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((name, k) => call(base, 'POST', `/v1/secret/data/${name}`, { data: { value: `seed-value-${i + k}` } }, token)),
      );
    }
    return { child, base, token, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
