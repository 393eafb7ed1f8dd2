// A self-signed certificate for 127.0.0.1 and localhost, made with openssl at test time (for the API's HTTPS).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes api.key and api.crt into `dir`; returns their paths and texts. */
export function selfSigned(dir: string): { keyFile: string; certFile: string; key: Buffer; cert: Buffer } {
  const keyFile = join(dir, 'api.key');
  const certFile = join(dir, 'api.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=dmzgate test API',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { keyFile, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) };
}
