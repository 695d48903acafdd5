// Certificates for tests, made with the openssl command (tests that need it skip without it):
// a small CA with leaves under it, or one self-signed certificate. P-256 keys: quick to make.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const OPENSSL_TIMEOUT_MS = 10000;

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: OPENSSL_TIMEOUT_MS });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed certificate for localhost in dir: {cert, key} paths. */
export function selfSigned(dir, name = 'self') {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', ...EC_KEY, '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], dir);
  return { cert, key };
}

/**
 * A CA and one leaf per name, all for localhost, in dir. Returns {ca, leaves: {NAME: {cert, key,
 * chain}}}: cert is the leaf alone, chain the leaf followed by the CA (what a server is given).
 */
export function caWithLeaves(dir, names) {
  const ca = path.join(dir, 'ca.pem');
  const caKey = path.join(dir, 'ca.key');
  openssl(['req', '-x509', ...EC_KEY, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=blynkd test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'], dir);
  const ext = path.join(dir, 'leaf.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n' +
    'extendedKeyUsage=serverAuth\n');
  const leaves = {};
  for (const name of names) {
    const key = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const cert = path.join(dir, `${name}.pem`);
    openssl(['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', `/CN=localhost/O=${name}`], dir);
    openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2',
      '-extfile', ext], dir);
    const chain = path.join(dir, `${name}-chain.pem`);
    writeFileSync(chain, Buffer.concat([readFileSync(cert), readFileSync(ca)]));
    leaves[name] = { cert, key, chain };
  }
  return { ca, leaves };
}
