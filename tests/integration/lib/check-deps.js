// Run by CTest before the suite: the suite needs the npm packages of package-lock.json.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Every package the suite imports; a missing one means `npm ci` was not run (or is stale).
const packages = ['blynk-library', 'ws', 'playwright-core'];
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`integration tests need node >= 20 (node:test, --test-concurrency); this is ${process.version}`);
  process.exit(1);
}
for (const name of packages) {
  const need = path.join(dir, 'node_modules', name, 'package.json');
  if (!existsSync(need)) {
    console.error(`${need} is missing.\nInstall the test dependencies first:\n` +
      `  npm ci --no-audit --no-fund --prefix tests/integration   (from the repo root; scripts/deps.sh does this)`);
    process.exit(1);
  }
}
console.log('integration test dependencies present');
