/**
 * The commit point, and the message stream that places it inside the SMTP DATA phase (see
 * deliver.ts for the whole of a send).
 */
import { Readable, type Writable } from 'node:stream';
import { isEndOfData } from './smtp-internals';

/**
 * The commit point of a send: the row is taken (in a transaction not yet committed) before the
 * transport starts. Once the server has answered DATA with 354, the transport calls `commit`
 * with the write of the message and its end-of-data dot, to be made right after the COMMIT's, so
 * no other work runs between the two. A send that fails before then never calls it: the caller
 * rolls the take back, and the server, whose connection drops without the dot, must cancel the
 * transaction (RFC 5321 §3.8).
 */
export interface CommitPoint {
  /**
   * Writes the COMMIT, then calls `writeTheDot` at once; settles with the commit's outcome.
   * Throws, without calling it, when the COMMIT cannot be written.
   */
  commit(writeTheDot: () => void): Promise<void>;
}

/**
 * The message as SMTPConnection reads it: only once the server has answered DATA with 354, and
 * all at once. While it goes through the DataStream (which escapes dots) to the socket (what
 * this relies on of nodemailer: smtp-internals.ts, points 3 to 6), the
 * socket's writes are held back until the DataStream writes the dot; then the COMMIT is written,
 * and the message with its dot in one write right after it, everything for that write prepared
 * beforehand. A kill -9 between the two loses the mail (the row says `sent`); the time between
 * them is what the commit point leaves open, so nothing is allocated or computed there. Both
 * writes happen in the one call: were the dot written even a process.nextTick later, any promise
 * continuation of the process could run in between.
 */
export class CommitPointStream extends Readable {
  started = false;
  /** Settles once the commit has (at once if it was never written). Never rejects. */
  decided: Promise<void> = Promise.resolve();

  constructor(
    private readonly message: Buffer,
    private readonly point: CommitPoint,
    private readonly socket: () => Writable,
  ) {
    super();
  }

  override _read(): void {
    if (this.started) return;
    this.started = true;
    this.decided = this.commitWithTheDot();
    this.push(this.message);
    this.push(null);
  }

  /** Set while the socket holds the message back: restores the socket's own write. */
  private disarm: ((uncommitted?: boolean) => void) | null = null;

  /**
   * Arms the socket so that what the DataStream writes is held until its dot, and the dot's write
   * first writes the COMMIT; settles once the commit has (its outcome reaches the caller through
   * its commit point), or at once if the send fails first. Never rejects.
   */
  private commitWithTheDot(): Promise<void> {
    const socket = this.socket();
    const write = socket.write;
    const writeThrough = (...args: unknown[]) => (write as (...args: unknown[]) => boolean).apply(socket, args);
    const held: Buffer[] = [];
    return new Promise<void>((resolve) => {
      this.disarm = (uncommitted) => {
        socket.write = write;
        this.disarm = null;
        if (uncommitted) resolve();
      };
      socket.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (!Buffer.isBuffer(chunk)) return writeThrough(chunk, ...rest);
        held.push(chunk);
        const done = rest.find((arg): arg is () => void => typeof arg === 'function');
        if (!isEndOfData(chunk)) {
          // Taken: the DataStream may go on (the message is in memory anyway: a few kilobytes, or
          // the megabytes of a staff reply's attachments, built by compose before the envelope).
          if (done) process.nextTick(done);
          return true;
        }
        this.disarm?.();
        const message = held.length === 1 ? held[0]! : Buffer.concat(held);
        let written = false;
        let committing: Promise<void>;
        try {
          committing = this.point.commit(() => (written = writeThrough(message, ...rest)));
        } catch (err) {
          // Nothing committed: the message and its dot are never written, and the send fails.
          resolve();
          socket.destroy(err instanceof Error ? err : new Error(String(err)));
          return false;
        }
        committing.then(resolve, () => resolve());
        return written;
      }) as typeof socket.write;
    });
  }

  /** The send failed: whatever was held back never reaches the server, and no COMMIT is written. */
  failed(): void {
    this.disarm?.(true);
  }
}
