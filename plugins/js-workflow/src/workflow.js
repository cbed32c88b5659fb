// wasm-worker's example WIT-typed workflow, in JavaScript (componentize-js).
//
// A workflow is a plain exported function. Calling `renderBatch` (imported from js-activity's
// WIT) schedules that activity and returns its typed result; the host suspends this code
// while the server works and, on replay, runs it again from the start, answering each call
// from history. So: no Date.now(), Math.random(), timers or fetch of its own — `nowMs`,
// `random` and activities are the deterministic ways out.
//
// Bindings (componentize-js 0.23): WIT names become camelCase; u64 is a BigInt; a call whose
// WIT result is an `err` throws an error whose `payload` is the err value; throwing from an
// exported function that returns result<_, string> makes its `err` (the thrown `payload`).

import {
  activityResult,
  awaitAll,
  awaitAny,
  cancel,
  cancellation,
  cancelled,
  continueAsNew,
  log,
  nextCallOptions,
  nowMs,
  setQueryResult,
  signalHandle,
  sleep,
  startActivity,
  startChild,
  waitSignal,
} from 'wasm-worker:workflow/workflow@0.1.0';
import { renderBatch } from 'example:js-activity/templates';
import { checksum } from 'example:c-activity/checksums';
import { validateDocument } from 'example:python-activity/documents';
import { approve } from 'example:fulfilment/signals';

/** The workflow's own failure: its `payload` becomes the `err` string. */
class WorkflowError extends Error {
  constructor(message) {
    super(message);
    this.payload = message;
  }
}

function status(text) {
  setQueryResult('status', JSON.stringify(text));
}

function sendMailing(request) {
  // Fan-out: every preview is scheduled before any is awaited.
  status('rendering previews');
  const template = JSON.stringify(request.template);
  const handles = request.recipients.map((r) =>
    startActivity('render_template', [template, JSON.stringify(r.values)], undefined),
  );
  awaitAll(new Uint32Array(handles));
  const previews = handles.map((h) => {
    try {
      return JSON.parse(activityResult(h)).text;
    } catch (e) {
      throw new WorkflowError(`render_template failed: ${e.payload?.message ?? e}`);
    }
  });

  // A typed import: the arguments and the result are WIT values, not JSON.
  status('rendering the batch');
  const batch = renderBatch(request.template, request.recipients);

  let approvedBy = request.approver;
  if (approvedBy === undefined || approvedBy === null) {
    // Approval or cancellation, whichever comes first.
    status('awaiting approval');
    const approval = signalHandle('approve');
    const cancel = cancellation();
    if (awaitAny(new Uint32Array([approval, cancel])) === cancel) {
      status('cancelled');
      cancelled();
    }
    approvedBy = JSON.parse(waitSignal('approve'));
  }
  log('info', `mailing approved by ${approvedBy}`);

  status('cooling off');
  sleep(request.coolOffMs);
  status('done');
  return {
    previews,
    messages: batch.messages.length,
    skipped: batch.skipped,
    approvedBy: String(approvedBy),
    decidedAtMs: nowMs(),
  };
}

function sendBatches(requests) {
  const children = requests.map((r) =>
    startChild(
      'send_mailing',
      [
        JSON.stringify({
          template: r.template,
          recipients: r.recipients,
          'cool-off-ms': Number(r.coolOffMs),
          approver: 'batch',
        }),
      ],
      undefined,
    ),
  );
  awaitAll(new Uint32Array(children));
  return children.map((h) => {
    try {
      return JSON.parse(activityResult(h)).messages;
    } catch (e) {
      throw new WorkflowError(`a child mailing failed: ${e.payload?.message ?? e}`);
    }
  });
}

// What every customer is told (js-activity's template syntax).
const NOTICE = 'Dear {{name}}, order {{crc}} is confirmed.';

/** Options for a call whose error is final: one attempt, 10 s to answer. */
function oneAttempt() {
  return { startToCloseMs: 10_000n, maxAttempts: 1, nonRetryableErrorTypes: [] };
}

// The order-fulfilment workflow of plugins/fulfilment, in JavaScript. Rust
// (plugins/order-workflow/src/fulfil.rs) and Python (plugins/python-workflow/fulfil.py) have
// the same workflow, step for step, and give the same result.
function jsFulfilOrder(request) {
  // Python: is the order a JSON object with the fields it needs?
  status('validating');
  nextCallOptions(oneAttempt());
  let report;
  try {
    report = validateDocument(request.order, ['id', 'lines']);
  } catch (e) {
    throw new WorkflowError(`the order is refused: ${e.payload ?? e}`);
  }
  if (!report.valid) {
    throw new WorkflowError(`the order lacks ${report.missing.join(', ')}`);
  }

  // C: its checksum, a typed call with a `list<u8>` argument.
  status('checksumming');
  const digest = checksum(new TextEncoder().encode(request.order));
  const crc = digest.crc32.toString(16).padStart(8, '0');

  // JavaScript, fanned out: every notice is scheduled before any is awaited.
  status('notifying');
  const handles = request.customers.map((name) =>
    startActivity(
      'render_template',
      [JSON.stringify(NOTICE), JSON.stringify([['name', name], ['crc', crc]])],
      oneAttempt(),
    ),
  );
  awaitAll(new Uint32Array(handles));
  const notices = handles.map((h) => {
    try {
      return JSON.parse(activityResult(h)).text;
    } catch (e) {
      throw new WorkflowError(`render_template: ${e.payload?.message ?? e}`);
    }
  });

  // The loyalty count runs as a child (it continues as new each round) while this waits.
  const loyalty = startChild(
    'add_rounds',
    [JSON.stringify({ left: request.loyaltyRounds, sum: 0 })],
    undefined,
  );

  let approval;
  if (request.approver !== undefined && request.approver !== null) {
    approval = { by: request.approver, note: undefined };
  } else {
    // Approval or cancellation, whichever comes first; the signal is typed.
    status('awaiting approval');
    const signal = signalHandle('approve');
    const cancelRequest = cancellation();
    if (awaitAny(new Uint32Array([signal, cancelRequest])) === cancelRequest) {
      cancel(loyalty);
      status('cancelled');
      cancelled();
    }
    approval = approve();
  }
  log('info', `order ${crc} approved by ${approval.by}`);

  status('cooling off');
  sleep(request.coolOffMs);
  let total;
  try {
    total = JSON.parse(activityResult(loyalty));
  } catch (e) {
    throw new WorkflowError(`loyalty: ${e.payload?.message ?? e}`);
  }
  status('done');
  return {
    fields: report.fields,
    crc32: digest.crc32,
    notices,
    loyalty: total,
    approval,
    decidedAtMs: nowMs(),
  };
}

function addRounds(progress) {
  if (progress.left === 0) {
    return progress.sum;
  }
  continueAsNew([JSON.stringify({ left: progress.left - 1, sum: progress.sum + progress.left })]);
  throw new Error('continue-as-new does not return');
}

// The WIT interface `workflows`: componentize-js looks up an export of this name.
export const workflows = { sendMailing, sendBatches, addRounds, jsFulfilOrder };
