import { join } from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { z } from 'zod';
import type { storageConfig } from '../../config/schema.js';
import type { Logger } from '../core/logger.js';
import { BatchWriter } from './batch-writer.js';
import { Checkpointer } from './checkpointer.js';
import { openDatabase, type Database, type Migration } from './db.js';
import { privateDir } from './private-files.js';

export interface Storage {
  db: Database;
  writer: BatchWriter;
  /** Commits what is queued, stops the checkpoint worker and closes the database. */
  close(): Promise<void>;
}

/**
 * `<dataDir>/gateway.db` with every module's migrations applied, the batching writer for hot-path rows, and WAL
 * checkpoints on a worker thread (see checkpointer.ts), with their metrics.
 */
export function openStorage(opts: {
  dataDir: string;
  config: z.infer<typeof storageConfig>;
  migrations: readonly Migration[];
  metrics: Registry;
  log: Logger;
}): Storage {
  const { config, metrics, log } = opts;
  // The data dir holds the database, Node-RED's credentials and camera pictures: the gateway user's alone.
  const dir = privateDir(opts.dataDir);
  if (dir) log.warn({ dataDir: opts.dataDir, was: dir.was }, 'data dir was open to other users; now 0700');
  const file = join(opts.dataDir, 'gateway.db');
  const db = openDatabase(file, opts.migrations, {
    synchronous: config.synchronous,
    onTightened: (t) => log.warn({ file: t.path, was: t.was }, 'database file was readable by other users; now 0600'),
  });

  const checkpointPages = new Counter({
    name: 'campus_db_checkpoint_pages_total',
    help: 'WAL pages copied into the database file by the checkpoint worker',
    registers: [metrics],
  });
  const checkpointer = new Checkpointer(db, {
    file,
    synchronous: config.synchronous,
    intervalMs: config.checkpointIntervalMs,
    walSizeLimitBytes: 64 * 1_048_576,
    maxWalFrames: 16_384, // 64 MB of 4 KB pages
    onCheckpoint: (r) => checkpointPages.inc(r.copied),
    onError: (err) => log.error({ err }, 'checkpoint worker failed; the database checkpoints on commit again'),
  });
  new Gauge({
    name: 'campus_db_wal_pages',
    help: 'Pages in the write-ahead log after the last checkpoint',
    registers: [metrics],
    collect() {
      this.set(checkpointer.stats.walFrames);
    },
  });
  checkpointer.start();

  const batches = new Histogram({
    name: 'campus_db_batch_size',
    help: 'Rows per batched write transaction',
    buckets: [1, 5, 20, 100, 500],
    registers: [metrics],
  });
  const batchErrors = new Counter({ name: 'campus_db_batch_errors_total', help: 'Batches whose commit failed', registers: [metrics] });
  const writer = new BatchWriter(db, {
    maxSize: config.batchMaxSize,
    maxDelayMs: config.batchMaxDelayMs,
    onBatch: (size) => batches.observe(size),
    onError: (err) => {
      batchErrors.inc();
      log.error({ err }, 'batched write failed');
    },
  });

  return {
    db,
    writer,
    async close() {
      writer.close(); // commits whatever is still queued
      await checkpointer.stop();
      db.close(); // the last connection to close checkpoints the rest
    },
  };
}
