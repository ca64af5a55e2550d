// Reading a password without putting it on the command line (where `ps` and shell history
// see it): typed twice without echo when stdin is a terminal, else the first line of stdin
// (`printf '%s\n' "$PW" | grantledger user set-password …`). Prompts go to stderr, so
// stdout keeps only the result (one JSON object with --json).
import { UsageError } from './errors.js';

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACES = new Set(['\u007f', '\b']);

/** Answers to each question, typed in raw mode (nothing echoed). */
function askHidden(questions: string[], command: string): Promise<string[]> {
  const { stdin, stderr } = process;
  return new Promise((resolve, reject) => {
    const answers: string[] = [];
    let current = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      if (err) reject(err);
      else resolve(answers);
    };
    const onData = (chunk: string) => {
      // Characters after an Enter belong to the next question (typed ahead or pasted).
      for (const ch of chunk) {
        if (ch === CTRL_C || (ch === CTRL_D && current === '')) {
          stderr.write('\n');
          return finish(new UsageError('cancelled: nothing was changed', command));
        }
        if (ch === '\r' || ch === '\n') {
          stderr.write('\n');
          answers.push(current);
          current = '';
          if (answers.length === questions.length) return finish();
          stderr.write(questions[answers.length]!);
        } else if (BACKSPACES.has(ch)) {
          current = [...current].slice(0, -1).join('');
        } else {
          current += ch;
        }
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    stderr.write(questions[0]!);
  });
}

/** The first line of stdin (without its line ending); undefined when stdin is empty. */
async function firstLine(): Promise<string | undefined> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  process.stdin.destroy();
  if (text === '') return undefined;
  return text.split('\n')[0]!.replace(/\r$/, '');
}

/** A new password: from the terminal (typed twice) or from stdin. */
export async function readNewPassword(command: string): Promise<string> {
  if (process.stdin.isTTY) {
    const [first, second] = await askHidden(['New password: ', 'Again: '], command);
    if (first !== second) throw new UsageError('the two passwords differ: nothing was changed', command);
    return first!;
  }
  const line = await firstLine();
  if (line === undefined) throw new UsageError('missing --password (and nothing on stdin)', command);
  return line;
}
