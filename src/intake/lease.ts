import pg from 'pg';

/**
 * One active watcher per mailbox, held as a PostgreSQL session advisory lock on a connection of
 * its own. The lock lives exactly as long as that connection: a process that dies, even by
 * kill -9, releases it at once, and a standby takes over on its next try.
 */
export class MailboxLease {
  private client: pg.Client | null = null;

  constructor(
    private readonly databaseUrl: string,
    private readonly name: string,
  ) {}

  get held(): boolean {
    return this.client !== null;
  }

  /** Tries once; true when this process now holds the lease. */
  async tryAcquire(): Promise<boolean> {
    if (this.client) return true;
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('error', () => this.drop(client));
    try {
      await client.connect();
      const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [`case-intake:mailbox:${this.name}`]);
      if (r.rows[0]?.ok) {
        this.client = client;
        return true;
      }
    } catch {
      // unreachable database: not held, try again later
    }
    await client.end().catch(() => undefined);
    return false;
  }

  /** Confirms the lease's connection is alive; false means the lease is lost. */
  async check(): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    try {
      await client.query('select 1');
      return true;
    } catch {
      this.drop(client);
      return false;
    }
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = null;
    client.end().catch(() => undefined);
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}
