import cliProgress from 'cli-progress';

/** A progress bar on a terminal, one line per step otherwise (CI logs). */
export class Progress {
  private readonly bar?: cliProgress.SingleBar;
  private step = 0;

  constructor(private readonly total: number) {
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'bench [{bar}] {value}/{total} {step}' }, cliProgress.Presets.shades_classic);
      this.bar.start(total, 0, { step: '' });
    }
  }

  tick(step: string): void {
    this.step++;
    if (this.bar) this.bar.update(this.step, { step });
    else process.stderr.write(`bench ${this.step}/${this.total}: ${step} done\n`);
  }

  done(): void {
    this.bar?.stop();
  }
}
