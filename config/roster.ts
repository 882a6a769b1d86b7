import { z } from 'zod';

/**
 * Limits on one roster import (API and CLI). Generous for a real school (a large one has ~5,000 students and a
 * dozen columns) and finite, so that a hostile or broken file is refused before it costs the gateway memory.
 */
export const rosterConfig = z.strictObject({
  maxBytes: z.number().int().min(1024).max(50 * 1024 * 1024).default(20 * 1024 * 1024)
    .meta({ description: 'The largest file accepted, in bytes; the API answers 413 past it (and stops reading the body). At most 50 MiB: the parsing thread\'s heap (128 MB) holds the file\'s text twice while it normalises line ends.' }),
  maxRows: z.number().int().min(1).max(200_000).default(20_000)
    .meta({ description: 'Data rows (after the header) in one file; one more and the file is refused before it is checked.' }),
  maxColumns: z.number().int().min(2).max(1024).default(64).meta({ description: 'Columns in one row; a wider row refuses the file.' }),
});
export type RosterConfig = z.infer<typeof rosterConfig>;
