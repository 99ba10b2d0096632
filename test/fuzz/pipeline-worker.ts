// The pure pipeline in a worker thread, so the test thread can bound each case's time (a hang is
// terminated, not waited for) and memory (resourceLimits), and a crash is a result, not a dead runner.
import { parentPort } from 'node:worker_threads';
import { desiredState } from '../../agent/engine/desired.js';
import { createRenderer } from '../../agent/render/index.js';
import type { PipelineRequest } from './runner.js';

const renderer = createRenderer();
// Compile the schemas and templates before the first timed case.
desiredState({ revision: 'warm-up', files: new Map([['clusters/w.yaml', 'name: w\ncloud: node\nnode: {address: 10.0.0.1}\nresources: {ports: [80]}\n']]), problems: [] }, renderer);
parentPort!.postMessage({ ready: true });

parentPort!.on('message', (request: PipelineRequest) => {
  const started = performance.now();
  try {
    const desired = desiredState({ revision: request.revision, files: new Map(Object.entries(request.files)), problems: [] }, renderer, request.adminSettings ? { adminSettings: request.adminSettings } : {});
    parentPort!.postMessage({ id: request.id, kind: 'ok', desired, ms: performance.now() - started });
  } catch (error) {
    parentPort!.postMessage({ id: request.id, kind: 'crash', error: error instanceof Error ? (error.stack ?? error.message) : String(error), ms: performance.now() - started });
  }
});
