// wasm-worker's example activity plugin, in JavaScript.
//
// componentize-js turns this ES module into a component of the `js-activity` world
// (../wit/world.wit). The exported `templates` object implements the WIT interface of the same
// name; WIT names become camelCase (`render-template` → `renderTemplate`, the record field
// `used-keys` → `usedKeys`), and each function is the activity type in snake_case
// (`render_template`).
//
// How the generated bindings (componentize-js 0.23) map the types used here:
// - record → plain object, list → array, tuple → array;
// - option<T> → the value, or `undefined` for none (we may return `undefined` or `null`);
// - result<T, E> as a return type: returning a value is `ok`; throwing is `err`, with E the
//   thrown object's own `payload` property, or else the thrown value itself. A thrown Error
//   without `payload` is not a valid E (a string here), so lowering it traps the call with just
//   "expected a string, received [object]" — see `activity()` below for what we do about that.
//   (Returning `{ tag: 'err', val: E }` also works, but throwing lets the parser fail from
//   deep inside a loop.)

import { log } from 'wasm-worker:plugin/log@0.1.0';
import { heartbeat, info, isCancelled } from 'wasm-worker:plugin/activity@0.1.0';

/**
 * An expected failure. Its message becomes the WIT `err` value, which the host turns into an
 * application failure of type `PluginError` (retried per the activity's retry policy).
 * The bindings read the own `payload` property; being an Error still gives it a stack.
 */
class ActivityError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ActivityError';
    this.payload = message;
  }
}

/** A placeholder key: a letter or `_`, then letters, digits, `_`, `-` or `.`. */
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Splits a template into literal text and placeholders. Parsing is separate from rendering
 * so that `renderBatch` parses its template once and reports syntax errors before any work.
 *
 * @param {string} template
 * @returns {Array<string | { key: string, fallback: string | undefined }>}
 */
function parseTemplate(template) {
  const parts = [];
  let pos = 0;
  while (pos < template.length) {
    const open = template.indexOf('{{', pos);
    if (open === -1) {
      parts.push(template.slice(pos));
      break;
    }
    if (open > pos) parts.push(template.slice(pos, open));

    const close = template.indexOf('}}', open + 2);
    const body = close === -1 ? '' : template.slice(open + 2, close);
    // A `{{` before the next `}}` means this placeholder was never closed: `{{a {{b}}`.
    if (close === -1 || body.includes('{{')) {
      throw new ActivityError(
        `unclosed placeholder at ${position(template, open)}: ${excerpt(template, open)}`,
      );
    }

    // `{{ key | fallback }}`: only the first `|` separates, so a fallback may contain `|`.
    const bar = body.indexOf('|');
    const key = (bar === -1 ? body : body.slice(0, bar)).trim();
    const fallback = bar === -1 ? undefined : body.slice(bar + 1).trim();
    if (!KEY.test(key)) {
      throw new ActivityError(
        `invalid placeholder ${JSON.stringify(template.slice(open, close + 2))} at ` +
          `${position(template, open)}: a key starts with a letter or "_" and goes on with ` +
          `letters, digits, "_", "-" or "."`,
      );
    }
    parts.push({ key, fallback });
    pos = close + 2;
  }
  return parts;
}

/** `line L, column C` (1-based) of `index` in `text`, for error messages people can act on. */
function position(text, index) {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** The start of `text` at `index`, quoted and cut short, to show where an error is. */
function excerpt(text, index, length = 24) {
  const rest = text.slice(index);
  return JSON.stringify(rest.length > length ? `${rest.slice(0, length)}…` : rest);
}

/**
 * Turns the WIT `list<tuple<string, string>>` (JS: an array of `[key, value]` arrays) into a
 * Map. A key given twice is an error rather than "last one wins": it is almost always a bug in
 * the caller, and silently picking one would hide it.
 */
function toValueMap(values, context = '') {
  const map = new Map();
  for (const [key, value] of values) {
    if (map.has(key)) {
      throw new ActivityError(`${context}key ${JSON.stringify(key)} is given twice`);
    }
    map.set(key, value);
  }
  return map;
}

/**
 * Renders parsed parts with `values`. A placeholder without a value or fallback renders as
 * empty text (like Mustache) and is reported in `firstMissing`, so the caller decides whether
 * that is acceptable.
 *
 * @returns {{ text: string, usedKeys: string[], unusedKeys: string[], firstMissing: string | undefined }}
 *   the WIT record `rendered`
 */
function render(parts, values) {
  const pieces = [];
  const used = new Set(); // a Set keeps insertion order: the order of first use
  let firstMissing; // undefined is option<string>'s none
  for (const part of parts) {
    if (typeof part === 'string') {
      pieces.push(part);
    } else if (values.has(part.key)) {
      pieces.push(values.get(part.key));
      used.add(part.key);
    } else if (part.fallback !== undefined) {
      pieces.push(part.fallback);
    } else {
      pieces.push('');
      firstMissing ??= part.key;
    }
  }
  return {
    text: pieces.join(''),
    usedKeys: [...used],
    unusedKeys: [...values.keys()].filter((key) => !used.has(key)),
    firstMissing,
  };
}

/**
 * `render-template: func(template: string, values: list<tuple<string, string>>)
 *   -> result<rendered, string>`
 */
function renderTemplate(template, values) {
  const rendered = render(parseTemplate(template), toValueMap(values));
  if (rendered.firstMissing !== undefined) {
    log('warn', `no value for {{${rendered.firstMissing}}}: rendered as empty text`);
  }
  log('info', `rendered ${rendered.text.length} UTF-16 units; keys used: ${rendered.usedKeys.length}`);
  return rendered;
}

/** How many recipients to render between heartbeats and cancellation checks. */
const CHECK_EVERY = 100;

/**
 * `render-batch: func(template: string, recipients: list<recipient>) -> result<batch, string>`
 *
 * A mail merge: one message per recipient with an email, the others listed in `skipped`.
 */
function renderBatch(template, recipients) {
  // Parse once, up front: a broken template fails the activity before any recipient.
  const parts = parseTemplate(template);

  // A retry starts over (rendering has no side effects to skip), but say how far the last
  // attempt got: `heartbeatDetails` is option<string>, so `undefined` on a first attempt.
  const { attempt, heartbeatDetails } = info();
  if (heartbeatDetails !== undefined) {
    log('info', `attempt ${attempt}; the previous one reached ${heartbeatDetails}`);
  }

  const messages = [];
  const skipped = [];
  for (const [index, { id, email, values }] of recipients.entries()) {
    // Every host call crosses the component boundary, and Temporal throttles heartbeats
    // anyway, so check in every CHECK_EVERY recipients rather than on each one.
    if (index % CHECK_EVERY === 0) {
      if (isCancelled()) {
        throw new ActivityError(`cancelled after ${index} of ${recipients.length} recipients`);
      }
      heartbeat(JSON.stringify({ done: index, total: recipients.length }));
    }

    if (email === undefined) {
      skipped.push(id); // option<string> none: no address, nothing to render
      continue;
    }
    const valueMap = toValueMap(values, `recipient ${JSON.stringify(id)}: `);
    // The address doubles as `{{email}}`, unless the recipient's values say otherwise.
    if (!valueMap.has('email')) valueMap.set('email', email);
    const { text, firstMissing } = render(parts, valueMap);
    if (firstMissing !== undefined) {
      log('warn', `recipient ${JSON.stringify(id)}: no value for {{${firstMissing}}}`);
    }
    messages.push({ id, email, text, firstMissing });
  }

  log('info', `rendered ${messages.length} messages, skipped ${skipped.length} without email`);
  return { messages, skipped };
}

/**
 * Wraps an exported function. An ActivityError passes through and becomes the `err` value.
 * Any other exception (a TypeError, say) is a bug: it still traps the call, which the host
 * reports as a retryable `Trap` like a Rust panic, but the trap message only quotes the
 * bindings' complaint about lowering the Error, so log the real cause first (the host tags
 * the record with the plugin, activity type and id).
 */
function activity(fn) {
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      if (!(error instanceof ActivityError)) {
        const stack = (error?.stack ?? '').trim().split('\n').join(' < ');
        log('error', `bug in ${fn.name}: ${error} at ${stack}`);
      }
      throw error;
    }
  };
}

// The WIT interface `templates`: componentize-js looks up an export of this name.
export const templates = {
  renderTemplate: activity(renderTemplate),
  renderBatch: activity(renderBatch),
};

/**
 * The feed's item titles. An async function: componentize-js runs the event loop until the
 * promise settles, so `fetch()` works inside a plain (blocking) WIT function.
 */
async function fetchFeedTitles(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    // A refusal by the host names the URL and the reason in the error's message.
    throw new ActivityError(`fetching ${url} failed: ${error?.message ?? error}`);
  }
  if (!response.ok) {
    throw new ActivityError(`${url} answered HTTP ${response.status}`);
  }
  let feed;
  try {
    feed = await response.json();
  } catch (error) {
    throw new ActivityError(`${url} is not JSON: ${error?.message ?? error}`);
  }
  if (!Array.isArray(feed?.items)) {
    throw new ActivityError(`${url}: the feed has no \`items\` array`);
  }
  log('info', `${url}: ${feed.items.length} items`);
  return feed.items.map((item) => String(item?.title ?? ''));
}

/** `activity` for async functions: a rejection that is not an ActivityError is logged. */
function asyncActivity(fn) {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (error) {
      if (!(error instanceof ActivityError)) {
        log('error', `bug in ${fn.name}: ${error}`);
      }
      throw error;
    }
  };
}

// The WIT interface `feeds`.
export const feeds = {
  fetchFeedTitles: asyncActivity(fetchFeedTitles),
};
