// The `{{name}}` activity plugin. Build and publish: see README.md.
//
// `activities` implements the WIT interface of the same name; WIT names become camelCase here
// and snake_case activity types in Temporal (`hello` → `hello`).

import { log } from 'wasm-worker:plugin/log@0.1.0';

export const activities = {
  hello(name) {
    log('info', `saying hello to ${name}`);
    return `Hello, ${name}!`;
  },
};
