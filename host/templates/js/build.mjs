// `node build.mjs OUT`: componentize-js turns src/activities.js into a component of the
// `{{name}}` world, written under a temporary name and renamed when whole.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { componentize } from '@bytecodealliance/componentize-js';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2]);
process.chdir(here);
const { component } = await componentize({
  sourcePath: join(here, 'src', 'activities.js'),
  witPath: join(here, 'wit'),
  worldName: '{{name}}',
});
await mkdir(dirname(out), { recursive: true });
const partial = `${out}.${process.pid}.partial`;
await writeFile(partial, component);
await rename(partial, out);
console.error(`built ${out} (${component.byteLength} bytes)`);
