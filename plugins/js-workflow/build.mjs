// Builds the workflow component: `node build.mjs OUT` (build.sh runs it). The same
// componentize-js call as plugins/js-activity/build.mjs (see there why the library, not the
// jco CLI, and why from this folder), for this plugin's world.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { componentize } from '@bytecodealliance/componentize-js';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, 'js_workflow.wasm'));
process.chdir(here);
const { component } = await componentize({
  sourcePath: join(here, 'src', 'workflow.js'),
  witPath: join(here, 'wit'),
  worldName: 'js-workflow',
  // A workflow reaches nothing outside the contract: without these the component imports
  // wasi:http (for fetch), which the workflow host does not link.
  disableFeatures: ['http', 'fetch-event'],
});
// A temporary name first, then a rename: a watching host never sees half a file.
await mkdir(dirname(out), { recursive: true });
const partial = `${out}.${process.pid}.partial`;
await writeFile(partial, component);
await rename(partial, out);
console.log(`wrote ${out} (${(component.byteLength / 1024 / 1024).toFixed(1)} MiB)`);
