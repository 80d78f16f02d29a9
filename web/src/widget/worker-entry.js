// The entry of a module Web Worker (the widget's worker.js, the explorer's train-worker.js): it takes messages
// from the first moment and passes them, in order, to the worker's code once that has loaded. The entry only
// loads that code, so bundlers put what the code shares with the chunks it loads later in the code's chunk,
// never in the entry's: WebKit evaluates a worker's entry module a second time when a chunk imports it, and the
// second copy took over the messages (the widget's model file went to a copy that was not reading it, and the
// first page's widget waited for ever).

/**
 * load(): the import() of the worker's code, a module exporting onMessage(event). A failed load answers every
 * message, now and later, with fail(event, message) instead of leaving the page waiting.
 */
export function serveWhenLoaded(load, fail) {
  const early = [];
  self.onmessage = (event) => early.push(event);
  load().then(({ onMessage }) => {
    self.onmessage = onMessage;
    for (const event of early.splice(0)) onMessage(event);
  }, (error) => {
    const message = `the worker could not load its code: ${error?.message ?? error}`;
    self.onmessage = (event) => fail(event, message);
    for (const event of early.splice(0)) fail(event, message);
  });
}
