// Builds the UI from src/ into ../assets/ (checked in, so `cargo build` needs no Node.js).
//   npm --prefix dashboards/ui ci && npm --prefix dashboards/ui run build
//   npm --prefix dashboards/ui run check   # fails when ../assets/ differs from a fresh build
import { build } from 'esbuild';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'assets');
const check = process.argv.includes('--check');

const common = { bundle: true, minify: true, write: false, legalComments: 'eof', logLevel: 'warning', charset: 'utf8' };
const [js, css] = await Promise.all([
  build({ ...common, entryPoints: [join(here, 'src/main.js')], format: 'esm', target: 'es2020', outfile: join(out, 'app.js') }),
  build({ ...common, entryPoints: [join(here, 'src/app.css')], outfile: join(out, 'app.css') }),
]);

const files = new Map([
  ['app.js', js.outputFiles[0].contents],
  ['app.css', css.outputFiles[0].contents],
  ['index.html', await readFile(join(here, 'src/index.html'))],
  ['favicon.svg', await readFile(join(here, 'src/favicon.svg'))],
]);

let stale = [];
await mkdir(out, { recursive: true });
for (const [name, contents] of files) {
  const path = join(out, name);
  if (check) {
    const existing = await readFile(path).catch(() => Buffer.alloc(0));
    if (!Buffer.from(contents).equals(existing)) stale.push(name);
  } else {
    await writeFile(path, contents);
  }
}
if (stale.length) {
  console.error(`dashboards/assets is stale (${stale.join(', ')}): run npm --prefix dashboards/ui run build`);
  process.exit(1);
}
console.log(check ? 'dashboards/assets matches src/' : `built ${[...files.keys()].join(', ')} into dashboards/assets`);
