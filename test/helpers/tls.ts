import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Writes a self-signed certificate for localhost and 127.0.0.1 (`cert.pem`, `key.pem`) into `dir`
 * with openssl, and returns their paths. Throws when openssl is missing: CI installs it, so a test
 * that needs it fails rather than skips.
 */
export function writeSelfSignedCert(dir: string): { certPath: string; keyPath: string } {
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { cwd: dir, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl is needed for these tests: ${r.stderr ?? String(r.error)}`);
  return { certPath: join(dir, 'cert.pem'), keyPath: join(dir, 'key.pem') };
}
