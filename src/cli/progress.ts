import type { DeployEvent } from '../app/deploy';

interface Line {
  readonly state: string;
  /** When the image left the queue; the clock of its line. */
  readonly start: number | null;
  /** When it reached done, cached, failed or skipped: the clock stops. */
  readonly end: number | null;
  readonly detail: string;
}

const FINAL = new Set(['done', 'cached', 'failed', 'skipped']);

/** What making a builder says (builders/*.ts): bootstrapping, importing, pulling, ready. Not mmdebstrap's own lines. */
const BUILDER_LINE = /^(\[[^\]]+\] )?builder [^:]+: (bootstrapping|importing|pulling|fetching|setting up|.* ready$)/;
const READY = / ready$/;

/**
 * Renders deploy events: on a TTY one live line per image (state and elapsed
 * time), redrawn in place; otherwise one plain line per change.
 */
export class Progress {
  private readonly lines = new Map<string, Line>();
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly tty: boolean;
  private finished = false;
  /** When each builder's first progress line came. */
  private readonly builders = new Map<string, number>();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly verbose: boolean,
  ) {
    this.tty = !!out.isTTY && !process.env.CI;
    if (this.tty) this.timer = setInterval(() => this.draw(), 250).unref();
  }

  event(e: DeployEvent): void {
    // Waiting for another deploy's lock is said whatever the verbosity: a silent wait looks like a hang.
    if (e.type === 'waiting') return this.print(`imgsdk: ${e.line}`);
    if (e.type === 'warning') return this.print(`imgsdk deploy: warning: ${e.id}: ${e.line}`);
    if (e.type === 'log') {
      if (this.verbose) this.print(`${e.id}: ${e.line}`);
      // A first deploy spends minutes making its builder: what happens is said without -v too.
      else if (BUILDER_LINE.test(e.line)) this.builderLine(e.id, e.line);
      return;
    }
    if (e.type === 'timing') {
      if (this.verbose) this.print(`${e.id}: ${e.step} took ${(e.ms / 1000).toFixed(1)} s`);
      return;
    }
    const on = e.type === 'building' && e.platform ? `, ${e.platform}` : '';
    const state =
      e.type === 'building' ? (e.phase === 'pipeline' ? `checking${on ? ` (${e.platform})` : ''}` : `building (${e.phase}${on})`) : e.type;
    // Why it builds, once: at phase 1, or at the pipeline when phase 1's output was cached.
    const why =
      e.type === 'building' &&
      (e.phase === 'phase1' || (e.phase === 'pipeline' && !this.lines.get(e.id)?.state.startsWith('building (phase1')));
    const detail = e.type === 'failed' ? e.error.split('\n')[0] : e.type === 'skipped' ? e.reason : why ? e.reason : '';
    const now = Date.now();
    const start = this.lines.get(e.id)?.start ?? (e.type === 'queued' ? null : now);
    this.lines.set(e.id, { state, start, end: FINAL.has(e.type) ? now : null, detail });
    if (this.tty) this.draw();
    else this.out.write(`${e.id}: ${state}${detail ? ` — ${detail}` : ''}\n`);
  }

  /** A builder's progress line, with the seconds since its first one; on a TTY also the image's detail. */
  private builderLine(id: string, line: string): void {
    const builder = line.replace(/^(\[[^\]]+\] )?builder ([^:]+):.*$/, '$2');
    const started = this.builders.get(builder) ?? Date.now();
    this.builders.set(builder, started);
    const text = `${line}${READY.test(line) ? ` (${((Date.now() - started) / 1000).toFixed(0)} s)` : ''}`;
    const l = this.lines.get(id);
    if (l && this.tty) this.lines.set(id, { ...l, detail: text });
    this.print(`${id}: ${text}`);
  }

  private print(text: string): void {
    if (!this.tty) return void this.out.write(text + '\n');
    this.clear();
    this.out.write(text + '\n');
    this.draw();
  }

  private clear(): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    this.clear();
    const width = Math.max(0, ...[...this.lines.keys()].map((k) => k.length));
    const cols = this.out.columns || 100;
    for (const [id, l] of this.lines) {
      const secs = l.start === null ? '' : (((l.end ?? Date.now()) - l.start) / 1000).toFixed(0) + 's';
      const text = `${id.padEnd(width)}  ${l.state.padEnd(20)} ${secs.padStart(5)}  ${l.detail}`;
      this.out.write(text.slice(0, cols - 1) + '\n');
      this.drawn++;
    }
  }

  /** Stops the clock and draws the last state once; later calls do nothing. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty) this.draw();
    this.drawn = 0;
  }
}
