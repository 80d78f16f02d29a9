// The explorer's training worker (its entry; ../widget/worker-entry.js says why it only loads train-worker-main.js).
import { serveWhenLoaded } from '../widget/worker-entry.js';

serveWhenLoaded(() => import('./train-worker-main.js'), (event, message) => {
  self.postMessage({ type: 'error', id: event.data?.id, message });
});
