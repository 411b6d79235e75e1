// The trustee page's verifier pool (bundled into trustee-page.js): ballots.jsonl read as it
// arrives (never held whole), cut into pieces of a few lines, each piece verified by one of several
// module Web Workers (js/pages/verify-worker.js, one per core), and the pieces' results added in
// board order on the page (BoardAccumulator of js/tally/board-check.js: chain, credentials, running
// sum). At most two pieces wait per worker, so the page holds a window of the board, not the board.

import { BoardAccumulator, LineSplitter, TallyError, sumsFromWire } from "./trustee.js";

const PIECE = 2; // ballots per piece: a second or so of one core's work, and a finer progress
const WINDOW = 2; // pieces in flight per worker

/** How many workers: one per core the browser reports, at least 1 and at most 8. */
export function workerCount() {
  const cores = Number(globalThis.navigator && navigator.hardwareConcurrency) || 2;
  return Math.max(1, Math.min(8, cores));
}

class Pool {
  constructor(url, size) {
    this.workers = [];
    this.waiting = new Map(); // id -> {resolve, reject}
    this.busy = [];
    this.informed = new Set(); // the workers that have the manifest
    this.ready = Promise.all(
      Array.from({ length: size }, (_, k) => {
        const worker = new Worker(url, { type: "module" });
        this.workers.push(worker);
        this.busy.push(0);
        return new Promise((resolve, reject) => {
          worker.onerror = (event) => {
            const message = (event && event.message) || "the verifier could not start";
            reject(new Error(message));
            for (const w of this.waiting.values()) w.reject(new Error(message));
          };
          worker.onmessage = (event) => {
            const data = event.data;
            if (data.type === "ready") return resolve();
            const waiter = this.waiting.get(data.id);
            if (!waiter) return;
            this.waiting.delete(data.id);
            this.busy[k] -= 1;
            if (data.type === "error") waiter.reject(new TallyError("board", data.message));
            else waiter.resolve(data);
          };
        });
      }),
    );
  }

  idlest() {
    let best = 0;
    for (let k = 1; k < this.busy.length; k++) if (this.busy[k] < this.busy[best]) best = k;
    return best;
  }

  full() {
    return this.busy.every((b) => b >= WINDOW);
  }

  /**
   * Post a request to the least busy worker (with the manifest if that worker has not had it);
   * resolves with its answer.
   */
  send(message, manifest) {
    const k = this.idlest();
    if (!this.informed.has(k)) {
      this.informed.add(k);
      message = { ...message, manifest };
    }
    this.busy[k] += 1;
    return new Promise((resolve, reject) => {
      this.waiting.set(message.id, { resolve, reject });
      this.workers[k].postMessage(message);
    });
  }

  close() {
    for (const w of this.workers) w.terminate();
  }
}

/**
 * Verify the board of `response` (a fetch Response of ballots.jsonl) and the paper files in
 * workers. `expected` is the number of board ballots the page expects (for the progress only).
 * onProgress({done, expected, elapsed}) after every piece, in board order. Returns
 * {aggregate, head, paper: {voided, ballots: [{trackingHash, ciphertexts}]}}; throws TallyError
 * (code 'board' or 'paper') naming the first failure in board order.
 */
export async function verifyInWorkers({
  manifest,
  response,
  voidsText,
  paperText,
  workerUrl,
  expected,
  onProgress,
  workers = workerCount(),
}) {
  const pool = new Pool(workerUrl, workers);
  const started = performance.now();
  try {
    await pool.ready;
    // The manifest is checked in a worker (pollContext); the page keeps the figures it needs.
    const poll = await pool.send({ type: "context", id: -1 }, manifest);
    const acc = new BoardAccumulator({
      fingerprint: poll.fingerprint,
      credentials: poll.credentials,
      subjects: poll.subjects,
      grades: poll.grades,
    });
    let nextId = 0;
    let line = 1;
    const pending = []; // promises of the pieces in flight, in board order
    const settle = async () => {
      const piece = await pending.shift();
      acc.add({ ...piece, sums: sumsFromWire(piece.sums) });
      const elapsed = performance.now() - started;
      if (onProgress) onProgress({ done: acc.count, expected, elapsed });
    };
    const dispatch = (lines) => {
      const answer = pool.send({ type: "lines", id: nextId++, first: line, lines }, manifest);
      line += lines.length;
      answer.catch(() => {}); // read in order by settle(); an early failure must not go unhandled
      pending.push(answer);
    };

    const splitter = new LineSplitter();
    let batch = [];
    const take = async (lines) => {
      for (const text of lines) {
        batch.push(text);
        if (batch.length === PIECE) {
          dispatch(batch);
          batch = [];
          while (pool.full()) await settle();
        }
      }
    };
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await take(splitter.push(value));
    }
    await take(splitter.end());
    if (batch.length) dispatch(batch);
    while (pending.length) await settle();

    let paper = { voided: 0, ballots: [] };
    if (voidsText !== "" || paperText !== "") {
      const request = {
        type: "paper",
        id: nextId++,
        voids: voidsText,
        paper: paperText,
        credentials: acc.credentials(),
      };
      const answer = await pool.send(request, manifest);
      paper = {
        voided: answer.voided,
        ballots: answer.ballots.map((b) => ({
          trackingHash: b.trackingHash,
          ciphertexts: sumsFromWire(b.ciphertexts),
        })),
      };
    }
    return { aggregate: acc.aggregate(paper.ballots), head: acc.headHex(), paper };
  } finally {
    pool.close();
  }
}
