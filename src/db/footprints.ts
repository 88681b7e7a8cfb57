import type { LabDatabase } from './database.js';

export interface Footprint {
  host: string;
  model: string;
  vramMiB: number;
  measuredAt: Date;
}

/**
 * The VRAM each model settled at after its last start (`model_footprint` in labops' database):
 * admission uses it instead of the declared `vramMiB` once it is known.
 */
export class FootprintStore {
  private readonly table: string;

  constructor(private readonly db: LabDatabase) {
    this.table = db.table('model_footprint');
  }

  async get(host: string, model: string): Promise<Footprint | null> {
    const { rows } = await this.db.pool.query<{ vram_mib: number; measured_at: Date }>(
      `SELECT vram_mib, measured_at FROM ${this.table} WHERE host = $1 AND model = $2`,
      [host, model],
    );
    const row = rows[0];
    return row ? { host, model, vramMiB: row.vram_mib, measuredAt: row.measured_at } : null;
  }

  /** Every footprint of the given hosts (all hosts when none is given), keyed `host/model`. */
  async all(hosts?: readonly string[]): Promise<Map<string, Footprint>> {
    const { rows } = await this.db.pool.query<{ host: string; model: string; vram_mib: number; measured_at: Date }>(
      `SELECT host, model, vram_mib, measured_at FROM ${this.table}${hosts ? ' WHERE host = ANY($1)' : ''}`,
      hosts ? [hosts] : [],
    );
    return new Map(rows.map((r) => [`${r.host}/${r.model}`, { host: r.host, model: r.model, vramMiB: r.vram_mib, measuredAt: r.measured_at }]));
  }

  async record(host: string, model: string, vramMiB: number): Promise<void> {
    await this.db.pool.query(
      `INSERT INTO ${this.table} (host, model, vram_mib, measured_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (host, model) DO UPDATE SET vram_mib = EXCLUDED.vram_mib, measured_at = EXCLUDED.measured_at`,
      [host, model, Math.round(vramMiB)],
    );
  }
}
