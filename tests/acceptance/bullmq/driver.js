'use strict';
// BullMQ acceptance driver: runs BullMQ's own basic workflows (and so its own
// Lua scripts) against a Redis-compatible server and exits 0 only when every
// check matched.  Usage: node driver.js <port> [host]   (or REDIS_PORT /
// REDIS_HOST in the environment).  Set DRIVER_VERBOSE=1 to log each step.
//
// Workflows (three queues, run one after the other):
// - main(): plain jobs with progress and logs, priorities, a delayed job,
//   attempts + fixed backoff (fails once, then succeeds), a job that exhausts
//   its attempts, a parent/children flow, a job scheduler ("repeatable"),
//   pause and resume, QueueEvents events, getJobCounts, obliterate;
// - extras(): addBulk, deduplication, promote, remove, updateData,
//   removeOnComplete, a rate-limited worker with metrics, getWorkers (CLIENT
//   LIST), global concurrency, Prometheus export, clean;
// - stalledAndManual(): a worker "dies" mid-job and another worker's stalled
//   check reruns the job; a job fetched with getNextJob and completed by hand.
// Time bounds are lower bounds only (a slow machine cannot fail them).

const { Queue, Worker, QueueEvents, FlowProducer, Job } = require('bullmq');

const port = Number(process.argv[2] || process.env.REDIS_PORT || 6379);
const host = process.argv[3] || process.env.REDIS_HOST || '127.0.0.1';
const verbose = !!process.env.DRIVER_VERBOSE;
const connection = { host, port, maxRetriesPerRequest: null };
const QNAME = 'acceptance';
const TOTAL_TIMEOUT_MS = Number(process.env.DRIVER_TIMEOUT_MS || 45000);

const failures = [];
function log(...args) {
  if (verbose) console.log('[driver]', ...args);
}
function check(cond, what, detail) {
  if (cond) {
    log('ok:', what);
  } else {
    const msg = detail === undefined ? what : `${what}: ${JSON.stringify(detail)}`;
    console.error('FAIL:', msg);
    failures.push(msg);
  }
}
function eq(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, what, { actual, expected });
}
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function main() {
  const queue = new Queue(QNAME, { connection });
  const queueEvents = new QueueEvents(QNAME, { connection });
  const flow = new FlowProducer({ connection });
  await queue.waitUntilReady();
  await queueEvents.waitUntilReady();
  await queue.obliterate({ force: true });

  // Events seen by QueueEvents (XREAD BLOCK on the events stream).
  const eventCompleted = new Set();
  const eventFailed = new Set();
  queueEvents.on('completed', ({ jobId }) => eventCompleted.add(jobId));
  queueEvents.on('failed', ({ jobId }) => eventFailed.add(jobId));

  const prioOrder = [];
  const attemptsSeen = {};
  let ticks = 0;
  let resolveTicks;
  const ticksDone = new Promise((resolve) => { resolveTicks = resolve; });

  async function processor(job) {
    log('processing', job.name, job.id, 'attemptsMade', job.attemptsMade);
    switch (job.name) {
      case 'square':
        await job.updateProgress(50);
        await job.log(`squaring ${job.data.x}`);
        return job.data.x * job.data.x;
      case 'prio':
        prioOrder.push(job.data.tag);
        return job.data.tag;
      case 'delayed':
        return { ranAt: Date.now() };
      case 'flaky':
        attemptsSeen[job.id] = (attemptsSeen[job.id] || 0) + 1;
        if (job.attemptsMade === 0) throw new Error('first attempt fails');
        return 'recovered';
      case 'doomed':
        throw new Error(`doomed attempt ${job.attemptsMade + 1}`);
      case 'child':
        return job.data.n * 10;
      case 'parent': {
        const values = await job.getChildrenValues();
        return Object.values(values).reduce((a, b) => a + b, 0);
      }
      case 'tick':
        ticks += 1;
        if (ticks === 3) resolveTicks();
        return ticks;
      case 'paused':
        return 'resumed';
      default:
        throw new Error(`unknown job ${job.name}`);
    }
  }

  // --- jobs added before any worker runs -------------------------------
  const square = await queue.add('square', { x: 7 });
  const prios = [];
  for (const [tag, priority] of [['low', 10], ['high', 1], ['mid', 5]]) {
    prios.push(await queue.add('prio', { tag }, { priority }));
  }
  const delayedAddedAt = Date.now();
  const delayed = await queue.add('delayed', {}, { delay: 600 });
  const flaky = await queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 200 } });
  const doomed = await queue.add('doomed', {}, { attempts: 2, backoff: { type: 'exponential', delay: 100 } });

  const counts0 = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  eq(counts0, { waiting: 3, prioritized: 3, delayed: 1, active: 0 }, 'counts before the worker starts');
  eq(await delayed.getState(), 'delayed', 'delayed job state');
  eq(await prios[0].getState(), 'prioritized', 'prioritized job state');

  const worker = new Worker(QNAME, processor, { connection, concurrency: 1 });
  worker.on('error', (err) => log('worker error', err && err.message));
  let workerCompleted = 0;
  worker.on('completed', () => { workerCompleted += 1; });

  const wait = (job, ms = 10000) => withTimeout(job.waitUntilFinished(queueEvents, ms), ms + 1000, `job ${job.name}`);

  eq(await wait(square), 49, 'square return value');
  for (const [i, tag] of ['low', 'high', 'mid'].entries()) {
    eq(await wait(prios[i]), tag, `prio ${tag} return value`);
  }
  eq(prioOrder, ['high', 'mid', 'low'], 'priority processing order');

  const delayedResult = await wait(delayed);
  check(delayedResult.ranAt - delayedAddedAt >= 550, 'delayed job waited its delay',
    { waitedMs: delayedResult.ranAt - delayedAddedAt });

  eq(await wait(flaky), 'recovered', 'flaky job recovered on retry');
  const flakyJob = await Job.fromId(queue, flaky.id);
  eq(flakyJob.attemptsMade, 2, 'flaky attemptsMade');
  eq(attemptsSeen[flaky.id], 2, 'flaky processed twice');
  eq(await flakyJob.getState(), 'completed', 'flaky state');
  eq(flakyJob.returnvalue, 'recovered', 'flaky stored returnvalue');

  let doomedError = null;
  try {
    await wait(doomed);
  } catch (err) {
    doomedError = err;
  }
  check(doomedError && /doomed attempt 2/.test(doomedError.message), 'doomed job failed after 2 attempts',
    doomedError && doomedError.message);
  const doomedJob = await Job.fromId(queue, doomed.id);
  eq(await doomedJob.getState(), 'failed', 'doomed state');
  eq(doomedJob.attemptsMade, 2, 'doomed attemptsMade');
  eq(doomedJob.failedReason, 'doomed attempt 2', 'doomed failedReason');
  check(Array.isArray(doomedJob.stacktrace) && doomedJob.stacktrace.length === 2, 'doomed stacktraces kept',
    doomedJob.stacktrace && doomedJob.stacktrace.length);

  // Stored job data, progress and logs.
  const squareJob = await Job.fromId(queue, square.id);
  eq(squareJob.returnvalue, 49, 'square stored returnvalue');
  eq(squareJob.progress, 50, 'square progress');
  eq(squareJob.data, { x: 7 }, 'square data');
  const logs = await queue.getJobLogs(square.id);
  eq(logs, { logs: ['squaring 7'], count: 1 }, 'square logs');

  // --- a flow: parent waits for its children ---------------------------
  const tree = await flow.add({
    name: 'parent',
    queueName: QNAME,
    data: {},
    children: [
      { name: 'child', queueName: QNAME, data: { n: 1 } },
      { name: 'child', queueName: QNAME, data: { n: 2 } },
      { name: 'child', queueName: QNAME, data: { n: 3 } },
    ],
  });
  eq(await wait(tree.job), 60, 'flow parent sums children values');
  const parentJob = await Job.fromId(queue, tree.job.id);
  const deps = await parentJob.getDependenciesCount();
  eq(deps.processed, 3, 'flow parent processed children');
  eq(deps.unprocessed, 0, 'flow parent unprocessed children');

  // --- pause / resume -------------------------------------------------
  await queue.pause();
  check(await queue.isPaused(), 'queue paused');
  const pausedJob = await queue.add('paused', {});
  await sleep(300);
  eq(await pausedJob.getState(), 'waiting', 'job waits while the queue is paused');
  await queue.resume();
  check(!(await queue.isPaused()), 'queue resumed');
  eq(await wait(pausedJob), 'resumed', 'job runs after resume');

  // --- a job scheduler (repeatable job) ---------------------------------
  await queue.upsertJobScheduler('ticker', { every: 200 }, { name: 'tick', data: {} });
  const schedulers = await queue.getJobSchedulers();
  eq(schedulers.map((s) => s.key), ['ticker'], 'job scheduler listed');
  await withTimeout(ticksDone, 10000, 'three scheduler ticks');
  eq(await queue.removeJobScheduler('ticker'), true, 'job scheduler removed');
  eq((await queue.getJobSchedulers()).length, 0, 'no job schedulers left');
  await sleep(300);   // let a tick that was already active finish

  // --- final counts -----------------------------------------------------
  const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed',
    'prioritized', 'waiting-children', 'paused');
  log('final counts', counts, 'worker completed', workerCompleted, 'ticks', ticks);
  // square + 3 prio + delayed + flaky + 3 children + parent + paused + ticks
  const expectedCompleted = 1 + 3 + 1 + 1 + 3 + 1 + 1 + ticks;
  eq(counts, {
    completed: expectedCompleted, failed: 1, waiting: 0, active: 0, delayed: 0,
    prioritized: 0, 'waiting-children': 0, paused: 0,
  }, 'final job counts');
  eq(workerCompleted, expectedCompleted, 'worker completed events');
  const completedJobs = await queue.getCompleted(0, -1);
  eq(completedJobs.length, expectedCompleted, 'getCompleted length');
  const failedJobs = await queue.getFailed();
  eq(failedJobs.map((j) => j.id), [doomed.id], 'getFailed ids');
  check(eventCompleted.has(square.id) && eventCompleted.has(tree.job.id), 'QueueEvents saw completions',
    [...eventCompleted]);
  check(eventFailed.has(doomed.id), 'QueueEvents saw the failure', [...eventFailed]);

  await worker.close();
  await flow.close();
  await queueEvents.close();
  await queue.obliterate({ force: true });
  eq(await queue.getJobCounts('completed', 'failed'), { completed: 0, failed: 0 }, 'obliterate emptied the queue');
  await queue.close();

  await extras();
  await stalledAndManual();
}

// A job whose worker dies mid-job (its lock expires) is found by another
// worker's stalled check and run again; a job fetched and completed by hand.
async function stalledAndManual() {
  const SNAME = 'acceptance-stalled';
  const queue = new Queue(SNAME, { connection });
  const queueEvents = new QueueEvents(SNAME, { connection });
  await queue.waitUntilReady();
  await queueEvents.waitUntilReady();
  await queue.obliterate({ force: true });

  let hung;
  const started = new Promise((resolve) => { hung = resolve; });
  const crashing = new Worker(SNAME, () => { hung(); return new Promise(() => {}); },
    { connection, lockDuration: 400, skipStalledCheck: true, skipLockRenewal: true });
  const job = await queue.add('stall', { n: 5 });
  await withTimeout(started, 5000, 'crashing worker picked the job');
  eq(await job.getState(), 'active', 'stalling job active');
  await crashing.close(true);         // "dies": the job stays active, its lock lapses

  const stalledIds = [];
  const rescuer = new Worker(SNAME, async (j) => j.data.n * 2,
    { connection, lockDuration: 400, stalledInterval: 300 });
  rescuer.on('stalled', (jobId) => stalledIds.push(jobId));
  eq(await withTimeout(job.waitUntilFinished(queueEvents, 8000), 9000, 'stalled job rerun'), 10,
    'stalled job completed by the second worker');
  eq(stalledIds, [job.id], 'stalled event');
  const rerun = await Job.fromId(queue, job.id);
  eq(rerun.stalledCounter, 1, 'stalledCounter');
  await rescuer.close();

  // Manual processing: fetch with a token, complete by hand.
  const manualWorker = new Worker(SNAME, null, { connection });
  const manual = await queue.add('manual', { n: 7 });
  const token = 'manual-token';
  const fetched = await manualWorker.getNextJob(token);
  check(fetched && fetched.id === manual.id, 'getNextJob fetched the job', fetched && fetched.id);
  if (fetched) {
    await fetched.moveToCompleted('done by hand', token, false);
    eq(await fetched.getState(), 'completed', 'manual job completed');
    eq((await Job.fromId(queue, manual.id)).returnvalue, 'done by hand', 'manual returnvalue');
  }
  await manualWorker.close();
  await queueEvents.close();
  await queue.obliterate({ force: true });
  await queue.close();
}

// A second queue: bulk adds, deduplication, promote, remove, updateData,
// removeOnComplete, a rate-limited worker with metrics, getWorkers (CLIENT
// LIST), global concurrency, Prometheus export and clean.
async function extras() {
  const XNAME = 'acceptance-extra';
  const queue = new Queue(XNAME, { connection });
  const queueEvents = new QueueEvents(XNAME, { connection });
  await queue.waitUntilReady();
  await queueEvents.waitUntilReady();
  await queue.obliterate({ force: true });

  const bulk = await queue.addBulk([1, 2, 3].map((n) => ({ name: 'bulk', data: { n } })));
  eq(bulk.length, 3, 'addBulk added three jobs');
  const dedup1 = await queue.add('dedup', { n: 10 }, { deduplication: { id: 'same' } });
  const dedup2 = await queue.add('dedup', { n: 11 }, { deduplication: { id: 'same' } });
  eq(dedup2.id, dedup1.id, 'deduplicated add returns the first job');
  eq(await queue.getDeduplicationJobId('same'), dedup1.id, 'deduplication key maps to the job');
  const far = await queue.add('far', { n: 20 }, { delay: 60000 });
  eq(await far.getState(), 'delayed', 'far job delayed');
  await far.promote();
  eq(await far.getState(), 'waiting', 'promoted job waits');
  const doomedToRemoval = await queue.add('removed', { n: 30 });
  await doomedToRemoval.remove();
  eq(await Job.fromId(queue, doomedToRemoval.id), undefined, 'removed job is gone');
  const updated = await queue.add('updated', { n: 40 });
  await updated.updateData({ n: 41 });
  const transient = await queue.add('transient', { n: 50 }, { removeOnComplete: true });
  const prio = await queue.add('prio5', { n: 60 }, { priority: 5 });
  eq(await queue.getCountsPerPriority([0, 5]), { 0: 7, 5: 1 }, 'counts per priority');
  eq(await queue.setGlobalConcurrency(1), 1, 'setGlobalConcurrency');
  eq(await queue.getGlobalConcurrency(), 1, 'getGlobalConcurrency');

  const processedAt = [];
  const worker = new Worker(XNAME, async (job) => {
    processedAt.push(Date.now());
    return job.data.n;
  }, { connection, concurrency: 2, limiter: { max: 3, duration: 300 }, metrics: { maxDataPoints: 60 } });
  worker.on('error', (err) => log('extra worker error', err && err.message));
  await worker.waitUntilReady();

  const wait = (job, ms = 10000) => withTimeout(job.waitUntilFinished(queueEvents, ms), ms + 1000, `job ${job.name}`);
  eq(await Promise.all(bulk.map((j) => wait(j))), [1, 2, 3], 'bulk return values');
  eq(await wait(dedup1), 10, 'dedup return value');
  eq(await wait(far), 20, 'promoted return value');
  eq(await wait(updated), 41, 'updated data used');
  eq(await wait(transient), 50, 'transient return value');
  eq(await wait(prio), 60, 'prio5 return value');
  eq(await Job.fromId(queue, transient.id), undefined, 'removeOnComplete removed the job');
  const spread = processedAt[processedAt.length - 1] - processedAt[0];
  check(processedAt.length === 8 && spread >= 500, 'rate limiter spread 8 jobs over two windows',
    { count: processedAt.length, spread });

  const workers = await queue.getWorkers();
  eq(workers.length, 1, 'getWorkers sees one worker');
  const metrics = await queue.getMetrics('completed');
  eq(metrics.meta.count, 8, 'completed metrics count');
  const prom = await queue.exportPrometheusMetrics();
  check(prom.includes(`bullmq_job_count{queue="${XNAME}", state="completed"} 7`), 'prometheus export', prom);
  const cleaned = await queue.clean(0, 100, 'completed');
  eq(cleaned.length, 7, 'clean removed the completed jobs');
  eq(await queue.getJobCounts('completed', 'waiting', 'delayed', 'active'),
    { completed: 0, waiting: 0, delayed: 0, active: 0 }, 'extra queue empty');

  await worker.close();
  await queueEvents.close();
  await queue.obliterate({ force: true });
  await queue.close();
}

const watchdog = setTimeout(() => {
  console.error(`FAIL: driver did not finish within ${TOTAL_TIMEOUT_MS} ms`);
  process.exit(2);
}, TOTAL_TIMEOUT_MS);

const started = Date.now();
main().then(() => {
  clearTimeout(watchdog);
  if (failures.length) {
    console.error(`${failures.length} check(s) failed`);
    process.exit(1);
  }
  console.log(`bullmq driver: all checks passed in ${Date.now() - started} ms (port ${port})`);
  process.exit(0);
}, (err) => {
  clearTimeout(watchdog);
  console.error('FAIL: driver error:', err && err.stack ? err.stack : err);
  process.exit(1);
});
