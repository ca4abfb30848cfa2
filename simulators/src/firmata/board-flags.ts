import { FlagError, type FlagOrigin } from '../cli-args.js';

export const BOARD_SYNTAX = 'ID@PATH (serial, e.g. one end of a socat pty pair) or ID@tcp:PORT (a network board)';

/** Adds the boards given with --firmata-board to spec.firmataBoards; returns which flag each came from. */
export function applyBoardFlags(spec: { firmataBoards?: unknown }, flags: readonly string[], host: string | undefined): FlagOrigin[] {
  const boards: unknown[] = Array.isArray(spec.firmataBoards) ? spec.firmataBoards : [];
  spec.firmataBoards = boards;
  const origins: FlagOrigin[] = [];
  for (const text of flags) {
    const flag = `--firmata-board "${text}"`;
    const at = text.indexOf('@');
    const id = text.slice(0, at);
    const target = text.slice(at + 1);
    if (at <= 0 || target === '') throw new FlagError(`${flag}: expected ${BOARD_SYNTAX}`);
    let board: Record<string, unknown>;
    if (target.startsWith('tcp:')) {
      const port = Number(target.slice(4));
      if (target.length === 4 || !Number.isInteger(port)) throw new FlagError(`${flag}: expected tcp:PORT with a port number`);
      board = { id, port, ...(host !== undefined && { host }) };
    } else board = { id, path: target };
    origins.push({ prefix: `firmataBoards[${boards.length}]`, flag });
    boards.push(board);
  }
  return origins;
}
