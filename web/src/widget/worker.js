// The widget's Web Worker (its entry; worker-entry.js says why it only loads worker-main.js).
import { serveWhenLoaded } from './worker-entry.js';

serveWhenLoaded(() => import('./worker-main.js'), (event, message) => {
  const id = event.data?.id;
  if (id !== undefined) self.postMessage({ id, ok: false, error: { name: 'Error', message } });  // chunks get no answer
});
