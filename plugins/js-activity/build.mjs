// Builds the plugin component: `node build.mjs [OUT]`, OUT defaulting to js_activity.wasm
// beside this file (relative paths are taken from the current directory). `build.sh` wraps
// this with the dependency install.
//
// It calls the componentize-js library rather than `jco componentize`: that CLI (jco 1.35.0)
// fails on our WIT folder with "failed to get path metadata"; the library takes the folder,
// deps symlink included.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { componentize } from '@bytecodealliance/componentize-js';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, 'js_activity.wasm'));

// componentize-js rebases the source path on the current directory when the source lies
// below it, and gets that wrong from `/` (it looks for "ork/main/…"). Building from this folder
// makes the paths it embeds and maps into the wizer sandbox the same whatever the caller's cwd.
process.chdir(here);

const started = performance.now();
const { component } = await componentize({
  sourcePath: join(here, 'src', 'activities.js'),
  witPath: join(here, 'wit'), // world.wit plus deps/wasm-worker-plugin (the contract)
  worldName: 'js-activity',
  // No `enableAot`: AOT compilation (weval) downloads a binary at build time, and the
  // interpreter is fast enough for activities.
});

// Write a temporary file and rename it: a host watching the folder never sees half a file
// (and ignores the temporary name, which does not end in `.wasm`).
await mkdir(dirname(out), { recursive: true });
const partial = `${out}.${process.pid}.partial`;
await writeFile(partial, component);
await rename(partial, out);

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const megabytes = (component.byteLength / 1024 / 1024).toFixed(1);
console.log(`wrote ${out} (${megabytes} MiB) in ${seconds} s`);
