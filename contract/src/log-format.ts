/**
 * How the services write their logs: JSON lines for machines (systemd's journal, log shippers),
 * or pretty, coloured lines for a person at a terminal. Shared by the agent and the registry so
 * both follow the same rule and the same flag.
 */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/**
 * `--log-format` wins, then `CITYEDGE_LOG_FORMAT`; otherwise pretty only when stdout is a
 * terminal and not the journal (systemd sets JOURNAL_STREAM for a unit's stdout).
 */
export function chooseLogFormat(opts: { flag?: string | undefined; env: NodeJS.ProcessEnv; stdoutIsTTY: boolean }): { ok: true; format: LogFormat } | { ok: false; message: string } {
  const asked = opts.flag ?? opts.env.CITYEDGE_LOG_FORMAT;
  if (asked !== undefined && asked !== '') {
    if ((LOG_FORMATS as readonly string[]).includes(asked)) return { ok: true, format: asked as LogFormat };
    const where = opts.flag !== undefined ? '--log-format' : 'CITYEDGE_LOG_FORMAT';
    return { ok: false, message: `${where}: expected ${LOG_FORMATS.join(' or ')}, got "${asked}"` };
  }
  return { ok: true, format: opts.stdoutIsTTY && !opts.env.JOURNAL_STREAM ? 'pretty' : 'json' };
}
